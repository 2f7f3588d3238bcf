"""Turns a preset that carries its training state into a run directory `ganzoo train --resume` continues.

    python benchmarks/device/preset_to_run.py exported/stylegan2_fashion_mnist runs/sg2

A zoo entry's `model.weights.h5` holds the whole compiled GAN (both networks, the EMA
generator, both optimizers' state and every random stream). This writes it as the
checkpoint of its last epoch (``checkpoints/eNNNN-s000000.{keras,json}``) beside the
entry's training config (``config.yaml``), so ``ganzoo train CONFIG --out RUN --resume
--epochs M`` trains it on from there, on any backend and machine: the data stream resumes
at that epoch's first batch. The history of the epochs before it is not in a preset, so
the run's history starts after it. Used to continue `stylegan2_fashion_mnist` on a lent GPU
(`train_on_gpu.sh`, docs/stylegan2.md).
"""

import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    preset, out = argv
    import yaml

    import ganzoo
    from ganzoo import presets
    from ganzoo.training import checkpoint

    if os.path.exists(out):
        print(f"preset_to_run: {out!r} exists; name a new folder.", file=sys.stderr)
        return 2
    metadata = presets.read_metadata(preset)
    gan = ganzoo.from_preset(preset)
    if not gan.compiled:
        print(f"preset_to_run: {preset!r} carries no optimizer state; it cannot be resumed.", file=sys.stderr)
        return 2
    config = metadata["training_config"]
    epoch = config["train"]["epochs"]
    os.makedirs(out)
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    state = {"epoch": epoch, "step": 0, "history": {}, "partial_logs": {},
             "fit_seconds": metadata["training"]["fit_seconds"]}
    checkpoint.save(gan, out, state)
    print(f"preset_to_run: {out} resumes {config['name']} after epoch {epoch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
