"""Training runs, above the models: `run` (a config to `fit`, with samples and metrics) and
`checkpoint` (atomic checkpoints, resume, the non-finite guard). Nothing below imports this package."""
