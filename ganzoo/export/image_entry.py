"""The image-in parts of a zoo entry (pix2pix, SRResNet/SRGAN): picture, TFLite quality, model card.

`ganzoo.export.entry.build_entry` calls these for a generator that takes
images: the entry's picture shows held-out inputs, outputs and targets; each
TFLite file is scored like the Keras generator (PSNR, SSIM, label accuracy
and FID by the target domain's judges) on the same test inputs; and the card
says how to call it (`translate` / `upscale`, `ganzoo translate`,
`TFLiteTranslator`) and what it scored beside the bicubic baseline and the
targets' own label accuracy.
"""

from __future__ import annotations

import os

import yaml

from ganzoo import plots

__all__ = ["model_card", "samples_picture", "tflite_quality"]

PICTURE_PAIRS = 12


def samples_picture(gan, dataset, path):
    """Writes the first `PICTURE_PAIRS` test pairs as input | output | target triplets."""
    from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel

    inputs, targets, _ = pairs.load_pair_arrays(dataset, "test", limit=PICTURE_PAIRS)
    tiles = plots.pair_tiles(inputs, gan.translate(inputs), targets)
    plots.save_image_grid(tiles, path, columns=plots.pair_columns(PICTURE_PAIRS))


def tflite_quality(gan, folder, dataset, n, export_facts):
    """Scores the Keras generator and each TFLite file on the first `n` test pairs, side by side."""
    from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import extractors, paired  # pylint: disable=import-outside-toplevel
    from ganzoo.runtime import TFLiteTranslator  # pylint: disable=import-outside-toplevel

    inputs, targets, labels = pairs.load_pair_arrays(dataset, "test", limit=n)
    judges = extractors.get_judges(pairs.DOMAIN[dataset])

    def scores(outputs):
        found = paired.score_pairs(outputs, targets, labels=labels, judges=judges)
        return {key: value for key, value in found.items() if key not in ("n", "psnr_exact")}

    export_facts["quality_check"] = {"n": int(len(inputs)), "inputs": "the first test inputs",
                                     "keras": scores(gan.translate(inputs, batch_size=500))}
    for facts in export_facts["formats"].values():
        if facts["path"].endswith(".tflite"):
            runner = TFLiteTranslator(os.path.join(folder, facts["path"]))
            facts["scores"] = scores(runner.translate(inputs, batch_size=500))


def _cells(values, judges):
    """`PSNR | SSIM | label accuracy | FID |` table cells (per judge: cnn / resnet)."""
    cells = [f"{values['psnr']:.2f}", f"{values['ssim']:.3f}"]
    cells += [" / ".join(f"{values[f'{key}_{j}']:.3g}" for j in judges) for key in ("label_accuracy", "fid")]
    return " | ".join(cells) + " |"


def _row(name, values, judges):
    return f"| {name} | " + _cells(values, judges)


def model_card(metadata: dict, folder: str) -> str:
    """The MODEL_CARD.md text of an image-in zoo entry."""
    from ganzoo.export import card  # pylint: disable=import-outside-toplevel

    config, training = metadata["training_config"], metadata.get("training") or {}
    report, export = metadata["metrics"], metadata["export"]
    scores, judges = report["scores"], list(report["judges"])
    method = "upscale" if metadata["input_shape"][0] is None else "translate"
    sr = "psnr_baseline" in scores
    lines = [
        f"# {metadata['name']}", "", metadata.get("description") or "", "",
        "## What it is", "",
        f"A ganzoo `{metadata['class_name']}` ({config['model']['family']}): a generator from images "
        f"{tuple(metadata['input_shape'])} to images {tuple(metadata['output_shape'])} in [-1, 1] "
        f"(`None`: any size), trained against a discriminator. Generator parameters: "
        f"{metadata['parameters']['generator']:,}; discriminator: {metadata['parameters']['discriminator']:,}.",
        "", "```python", "import ganzoo",
        f'gan = ganzoo.from_preset("{metadata["name"]}")   # compiled; fit() fine-tunes it',
        f"outputs = gan.{method}(inputs)   # NHWC in [-1, 1]", "```", "",
        f"`ganzoo translate {metadata['name']} INPUT --out DIR` runs it on an image file or a folder.", "",
        "## Data and training", "",
        f"Dataset `{metadata['dataset']}` (train split; its inputs are made from the images as "
        "`ganzoo.data.pairs` documents). Trained on the "
        f"{training.get('backend', '?')} backend (Keras {training.get('keras', '?')}), "
        f"{training.get('generator_steps', '?')} generator steps in {training.get('fit_seconds', '?')} s of "
        f"`fit` on {training.get('machine', '?')} ({training.get('accelerator', 'cpu')}), {training.get('date', '?')}.",
        "", "Config:", "", "```yaml", yaml.safe_dump(config, sort_keys=False).strip(), "```", "",
        "## Metrics", "",
        f"`ganzoo evaluate`: the generator's outputs for the first {report['n']} test inputs against "
        "their targets: PSNR and SSIM (`tf.image`, images in [0, 1]), and by the judges "
        + ", ".join(f"`{j}` ({a:.1%} on real test images)" if a else f"`{j}`" for j, a in report["judges"].items())
        + " (judge order in the cells) label accuracy (does the output keep the class of its target?) "
        "and FID of the outputs against the targets.", "",
        f"| | PSNR dB | SSIM | label accuracy {' / '.join(judges)} | FID {' / '.join(judges)} |",
        "| --- | --- | --- | --- | --- |",
        _row("this model", scores, judges),
    ]
    if sr:
        lines.append(_row("bicubic enlargement", {k[:-len("_baseline")]: v for k, v in scores.items()
                                                  if k.endswith("_baseline")}, judges))
    accuracy = " / ".join(f"{scores[f'label_accuracy_{j}_targets']:.3g}" for j in judges)
    floor = " / ".join(f"{scores[f'fid_{j}_targets']:.3g}" for j in judges if f"fid_{j}_targets" in scores)
    lines += ["", f"The targets themselves: label accuracy {accuracy} (the ceiling)"
              + (f"; FID of {report['n']} training images against the test targets {floor} (the real floor)."
                 if floor else "."), ""]
    check = export["quality_check"]
    lines += [
        "## Files", "",
        f"Each TFLite file scored like the Keras generator on the first {check['n']} test inputs "
        "(max abs error vs Keras: on 16 held-out inputs; gated files must agree to "
        f"{export['parity']['tolerance']:g} or the export fails; int8 calibrated on "
        f"{export['int8_calibration']['num_inputs']} real training inputs).", "",
        "| file | quantization | size | max abs error | PSNR dB | SSIM | label accuracy | FID |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| {} (Keras) | float32, {} | {:.0f} KiB | | ".format(*card.weights_files(folder))
        + _cells(check["keras"], judges),
    ]
    for facts in export["formats"].values():
        parity = facts["parity"]
        head = (f"| `{facts['path']}` | {facts['quantization']} | {facts['size_bytes'] / 1024:.0f} KiB | "
                f"{parity['max_abs_error']:.2g}{' (gated)' if parity['gated'] else ''} | ")
        lines.append(head + (_cells(facts["scores"], judges) if "scores" in facts else "| | | |"))
    lines += ["", f"The files run by name (`images` in, `images` out) through "
              f"`ganzoo.runtime.TFLiteTranslator(path).{method}(inputs)`, with NumPy and ai-edge-litert only"
              + (", at any input size (the interpreter is resized per call)." if method == "upscale" else "."), ""]
    lines.append(card.latency_section(metadata["latency"], "when this entry was built", False)
                 .replace("calls each", "calls each on one test input"))
    return "\n".join(lines) + "\n" + card.shipped_section(metadata)
