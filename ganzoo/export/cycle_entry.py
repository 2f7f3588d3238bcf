"""The CycleGAN parts of a zoo entry: two export sets, picture, TFLite quality, model card.

`ganzoo.export.entry.build_entry` calls `build` for a `CycleGAN` run: each
direction is exported on its own (``a_to_b/`` and ``b_to_a/``, each a full
`export_generator` set with its parity gate on held-out images of its
source domain and its int8 file calibrated on that domain's training
images); the picture shows held-out A and B images beside their translation
and their reconstruction; every TFLite file is scored like the Keras
generator on the same held-out images (translation accuracy and FID against
the real target domain, by the dataset's judges); and the card says how to
call each direction.
"""

from __future__ import annotations

import json
import os

import numpy as np
import yaml

from ganzoo import plots

__all__ = ["build", "model_card"]

PICTURE_IMAGES = 12


def _held_out(dataset):
    from ganzoo import data  # pylint: disable=import-outside-toplevel

    return "test" if "test" in (data.info(dataset).num_examples or {}) else "train"


def samples_picture(gan, dataset, path):
    """Rows of ``A | A->B | A->B->A | B | B->A | B->A->B`` for the first held-out images of each domain."""
    from ganzoo.data import unpaired  # pylint: disable=import-outside-toplevel

    a, b = unpaired.domain_arrays(dataset, _held_out(dataset), limit=PICTURE_IMAGES)
    n = min(len(a), len(b))
    tiles = gan.picture_tiles(a[:n], b[:n])  # n A triplets, then n B triplets
    rows = np.concatenate([tiles[:3 * n].reshape(n, 3, *tiles.shape[1:]),
                           tiles[3 * n:].reshape(n, 3, *tiles.shape[1:])], axis=1)
    plots.save_image_grid(rows.reshape(-1, *tiles.shape[1:]), path, columns=6)


def tflite_quality(gan, folder, dataset, n, export_facts):
    """Scores each direction's Keras generator and TFLite files on the first `n` held-out images, side by side."""
    from ganzoo.data import unpaired  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import unpaired as unpaired_scores  # pylint: disable=import-outside-toplevel
    from ganzoo.runtime import TFLiteTranslator  # pylint: disable=import-outside-toplevel

    images = dict(zip("ab", unpaired.domain_arrays(dataset, _held_out(dataset), limit=n)))
    domains = dict(zip("ab", unpaired.domains(dataset)))
    for direction, facts in export_facts.items():
        source, target = direction[0], direction[-1]
        judges = unpaired_scores.domain_judges(domains[target])

        def scores(fakes):
            found = {"max_abs_error_vs_keras": None}
            if judges:
                found.update(unpaired_scores.translation_scores(
                    fakes, images[target], domains[target].label, judges, direction))
            return found

        keras_outputs = gan.translate(images[source], direction=direction, batch_size=500)
        facts["quality_check"] = {"n": int(len(images[source])), "inputs": f"held-out {source.upper()} images",
                                  "keras": scores(keras_outputs)}
        for file_facts in facts["formats"].values():
            if file_facts["path"].endswith(".tflite"):
                runner = TFLiteTranslator(os.path.join(folder, direction, file_facts["path"]))
                outputs = runner.translate(images[source], batch_size=500)
                file_facts["scores"] = scores(outputs)
                file_facts["scores"]["max_abs_error_vs_keras"] = float(np.max(np.abs(outputs - keras_outputs)))


def build(gan, dataset, staging, *, n_eval, latency_rounds):
    """Writes both export sets, ``samples.png`` and ``metrics.json`` into `staging`; returns the metadata parts."""
    from ganzoo.data import unpaired  # pylint: disable=import-outside-toplevel
    from ganzoo.export import latency  # pylint: disable=import-outside-toplevel
    from ganzoo.export.generator import export_generator  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import unpaired as unpaired_scores  # pylint: disable=import-outside-toplevel
    from ganzoo.models.cyclegan import DIRECTIONS  # pylint: disable=import-outside-toplevel

    export_facts = {direction: export_generator(gan, os.path.join(staging, direction), inputs=dataset,
                                                direction=direction)
                    for direction in DIRECTIONS}
    samples_picture(gan, dataset, os.path.join(staging, "samples.png"))
    report = unpaired_scores.evaluate_unpaired(gan.a_to_b, gan.b_to_a, dataset, n=n_eval)
    with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    tflite_quality(gan, staging, dataset, min(2000, *report["n"].values()), export_facts)
    examples = dict(zip("ab", unpaired.domain_arrays(dataset, _held_out(dataset), limit=1)))
    rows = {direction: latency.measure(gan.generator_for(direction), os.path.join(staging, direction),
                                       batch_sizes=(1,), rounds=latency_rounds, images=examples[direction[0]])
            for direction in DIRECTIONS}
    return {"metrics": report, "export": export_facts, "latency": rows}


def _translation_cells(values, judges, direction):
    """`(translation accuracy, FID)` cells, judges joined by " / "; blank when not scored."""
    if f"fid_{direction}_{judges[0]}" not in values if judges else True:
        return "", ""
    return (" / ".join(f"{values[f'translation_accuracy_{direction}_{j}']:.3f}" for j in judges),
            " / ".join(f"{values[f'fid_{direction}_{j}']:.3g}" for j in judges))


def model_card(metadata: dict, folder: str) -> str:
    """The MODEL_CARD.md text of a CycleGAN zoo entry."""
    from ganzoo.export import card  # pylint: disable=import-outside-toplevel

    config, training = metadata["training_config"], metadata.get("training") or {}
    report, exports = metadata["metrics"], metadata["export"]
    scores, judges = report["scores"], list(report["judges"])
    domains = report["domains"]
    name = metadata["name"]
    lines = [
        f"# {name}", "", metadata.get("description") or "", "",
        "## What it is", "",
        f"A ganzoo `CycleGAN`: two generators between domain A (`{domains['a']}`) and domain B "
        f"(`{domains['b']}`), trained without pairs against two PatchGAN discriminators, with "
        f"cycle weight {config['model'].get('cycle_weight') or 10} and identity weight "
        f"{config['model'].get('identity_weight') or 0.5} (relative), history pools of "
        f"{config['model'].get('pool_size') or 50} images. Parameters per generator: "
        f"{metadata['parameters']['generator']:,}.",
        "", "```python", "import ganzoo",
        f'gan = ganzoo.from_preset("{name}")   # compiled; fit() fine-tunes it',
        'b_images = gan.translate(a_images, direction="a_to_b")   # NHWC in [-1, 1]',
        'a_images = gan.translate(b_images, direction="b_to_a")', "```", "",
        f"`ganzoo translate {name} INPUT --out DIR --direction b_to_a` runs it on an image file or a folder.", "",
        "## Data and training", "",
        f"Dataset `{metadata['dataset']}` (train split, A and B shuffled apart). Trained on the "
        f"{training.get('backend', '?')} backend (Keras {training.get('keras', '?')}), "
        f"{training.get('generator_steps', '?')} steps in {training.get('fit_seconds', '?')} s of `fit` on "
        f"{training.get('machine', '?')} ({training.get('accelerator', 'cpu')}), {training.get('date', '?')}.",
        "", "Config:", "", "```yaml", yaml.safe_dump(config, sort_keys=False).strip(), "```", "",
        "## Metrics", "",
        f"`ganzoo evaluate` on the {report['split']} split ({report['n']['a']} A and {report['n']['b']} B images), "
        "by the judges " + ", ".join(f"`{j}` ({a:.1%} on real test images)" if a else f"`{j}`"
                                     for j, a in report["judges"].items())
        + " (judge order in the cells): translation accuracy (the share of translations the judge puts in the "
        "target class) beside the real target images' own, FID of the translations against the real target "
        "images beside the real floor (as many training images of that class against the held-out ones), and "
        "the cycle's reconstruction error.", "",
        f"| direction | translation accuracy {' / '.join(judges)} | real images' | FID {' / '.join(judges)} | "
        "real floor | cycle L1 | cycle PSNR dB |", "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for direction in ("a_to_b", "b_to_a"):
        accuracy, fid = _translation_cells(scores, judges, direction)
        ceiling = " / ".join(f"{scores.get(f'translation_accuracy_{direction}_{j}_targets', float('nan')):.3f}"
                             for j in judges)
        floor = " / ".join(f"{scores.get(f'fid_{direction}_{j}_targets', float('nan')):.3g}" for j in judges)
        source = direction[0]
        lines.append(f"| {direction} | {accuracy} | {ceiling} | {fid} | {floor} | "
                     f"{scores[f'cycle_l1_{source}']:.4f} | {scores[f'cycle_psnr_{source}']:.2f} |")
    lines += ["", "(cycle: the source domain's images through both generators, e.g. A -> B -> A, against "
              "themselves; L1 in the images' [-1, 1] range.)", "", "## Files", ""]
    for direction, facts in exports.items():
        check = facts["quality_check"]
        lines += [
            f"### `{direction}/`", "",
            f"Each TFLite file scored like the Keras generator on the first {check['n']} {check['inputs']} (max abs "
            f"error vs Keras on 16 held-out inputs for the parity gate, {facts['parity']['tolerance']:g} for gated "
            f"files; int8 calibrated on {facts['int8_calibration']['num_inputs']} real training inputs).", "",
            f"| file | quantization | size | parity max abs error | translation accuracy | FID | max abs error "
            f"vs Keras ({check['n']}) |", "| --- | --- | --- | --- | --- | --- | --- |",
            "| Keras | float32 | | | " + " | ".join(_translation_cells(check["keras"], judges, direction)) + " | |",
        ]
        for file_facts in facts["formats"].values():
            parity = file_facts["parity"]
            cells = _translation_cells(file_facts.get("scores", {}), judges, direction)
            error = file_facts.get("scores", {}).get("max_abs_error_vs_keras")
            lines.append(f"| `{direction}/{file_facts['path']}` | {file_facts['quantization']} | "
                         f"{file_facts['size_bytes'] / 1024:.0f} KiB | {parity['max_abs_error']:.2g}"
                         f"{' (gated)' if parity['gated'] else ''} | {cells[0]} | {cells[1]} | "
                         + (f"{error:.3g} |" if error is not None else " |"))
        lines.append("")
    lines += ["{} (float32, {}): {:.0f} KiB. The files run by name ".format(*card.weights_files(folder))
              + "(`images` in, `images` out) through `ganzoo.runtime.TFLiteTranslator(path).translate(images)`, "
              "with NumPy and ai-edge-litert only.", ""]
    for direction, rows in metadata["latency"].items():
        lines.append(card.latency_section(rows, "when this entry was built", False)
                     .replace("## Latency (batch 1)", f"## Latency of `{direction}` (batch 1)")
                     .replace("calls each", "calls each on one held-out image"))
    return "\n".join(lines) + "\n" + card.shipped_section(metadata)
