"""A zoo entry: preset, exports, samples, metrics and a model card in one folder.

`build_entry(run_dir, out_dir)` turns a training run directory (written by
``ganzoo train``) into what ``exported/<name>/`` ships:

* the preset (``config.json``, ``model.weights.h5``, ``metadata.json``) that
  `ganzoo.from_preset` loads;
* ``saved_model/`` and the ``.tflite`` files, checked against the Keras
  generator by `export_generator` (their ``metadata.json`` facts are kept
  under ``"export"`` in the preset metadata);
* ``samples.png`` (64 samples, latent seed 0);
* ``metrics.json``: `ganzoo.metrics.evaluate.evaluate` by both of the
  dataset's judges with their real floors and the stricter verdict, where the
  dataset has shipped extractors;
* a fingerprint (`ganzoo.export.fingerprint`) in the preset metadata, which
  unit tests check on every backend;
* ``MODEL_CARD.md`` with the numbers above, file sizes and batch-1 latency.

`rescore_entry(folder)` re-scores a shipped entry the same way and, when
asked, rewrites its metrics, fingerprint and card (``make bench`` runs it).

Everything is assembled in a staging folder beside `out_dir` and moved into
place at the end; an existing `out_dir` is never touched without `overwrite`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile

import keras
import yaml

from ganzoo import plots, presets
from ganzoo.files import write_text_atomically
from ganzoo.models import sampling
from ganzoo.export.errors import ExportError
from ganzoo.export.fingerprint import fingerprint
from ganzoo.export.generator import export_generator
from ganzoo.export import latency

__all__ = ["build_entry", "model_card", "rescore_entry"]


def _read_json(path):
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _load_run(run_dir):
    import ganzoo.models  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    gan_path = os.path.join(run_dir, "gan.keras")
    config_path = os.path.join(run_dir, "config.yaml")
    if not (os.path.isfile(gan_path) and os.path.isfile(config_path)):
        raise ExportError(
            f"{run_dir!r} is not a run directory (no gan.keras and config.yaml); train one with "
            "ganzoo train CONFIG --out DIR"
        )
    with open(config_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    return keras.saving.load_model(gan_path, safe_mode=True), config


def build_entry(run_dir, out_dir, *, n_eval: int = 10_000, overwrite: bool = False,
                latency_rounds: int = 50, verbose: int = 1) -> dict:
    """Builds a zoo entry from a run directory; returns its metadata.

    Raises:
        ExportError: For a missing run, an `out_dir` in the way, or an export
            that fails its parity check (nothing is written then).
    """
    from ganzoo.metrics import evaluate, extractors  # pylint: disable=import-outside-toplevel

    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.exists(out_dir) and os.listdir(out_dir) and not overwrite:
        raise ExportError(f"{out_dir!r} already exists and is not empty; pass --force to replace it")
    gan, config = _load_run(run_dir)
    dataset = config["data"]["dataset"]
    run_facts = _read_json(os.path.join(run_dir, "run.json"))

    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging_root = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.entry-", dir=parent)
    try:
        staging = os.path.join(staging_root, "entry")
        classes = sampling.num_classes(gan.sampling_generator)
        if classes is None:
            export_facts = export_generator(gan, staging)
            samples = gan.generate(64, seed=0)
        else:
            # SavedModel/TFLite export takes single-input generators; a conditional
            # entry ships the preset only. One column per class in the grid.
            os.makedirs(staging)
            export_facts = None
            samples = gan.generate(classes * classes, seed=0)
        plots.save_image_grid(samples, os.path.join(staging, "samples.png"),
                              columns=classes)

        report = None
        if dataset in extractors.available_extractors():
            report = evaluate.evaluate(gan, dataset, n=n_eval, verbose=verbose)
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
        rows = []
        if export_facts is not None:
            if report:
                _quantized_fid(gan, staging, dataset, min(2000, report["n"]), export_facts)
            rows = latency.measure(gan.sampling_generator, staging, batch_sizes=(1,),
                                   rounds=latency_rounds)

        preset_dir = os.path.join(staging_root, "preset")
        metadata = {
            "name": config.get("name"),
            "description": config.get("description"),
            "dataset": dataset,
            "training_config": config,
            "training": run_facts,
            "metrics": report,
            "export": export_facts,
            "fingerprint": fingerprint(gan, dataset),
            "latency": rows,
        }
        presets.save_preset(gan, preset_dir, metadata=metadata)
        for name in os.listdir(preset_dir):
            os.replace(os.path.join(preset_dir, name), os.path.join(staging, name))
        # The preset's metadata.json replaces the export's; its facts are under "export".
        metadata = presets.read_metadata(staging)
        with open(os.path.join(staging, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
            f.write(model_card(metadata, staging))
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
    return metadata


def _quantized_fid(gan, folder, dataset, n, export_facts):
    """Adds each TFLite file's FID by each judge (and its change from Keras') to `export_facts`.

    Every runner gets the same `n` latents (seed 0) and is scored against the
    same `n` training images with the dataset's shipped judges.
    """
    from ganzoo.metrics import evaluate  # pylint: disable=import-outside-toplevel
    from ganzoo.runtime import TFLiteGenerator  # pylint: disable=import-outside-toplevel

    reference = evaluate.reference_set(dataset, n, seed=0)

    def fids(samples):
        found = evaluate.evaluate_samples(samples, dataset, metrics=["fid"], reference=reference)
        return {judge: scores["fid"] for judge, scores in found.items()}

    keras_fid = fids(gan.generate(reference.n, seed=0))
    export_facts["fid_check"] = {"n": reference.n, "seed": 0, "keras_fid": keras_fid}
    for facts in export_facts["formats"].values():
        facts.pop("fid", None)
        facts.pop("fid_change", None)
        if facts["path"].endswith(".tflite"):
            runner = TFLiteGenerator(os.path.join(folder, facts["path"]))
            facts["fid"] = fids(runner.generate(reference.n, seed=0))
            facts["fid_change"] = {judge: fid - keras_fid[judge]
                                   for judge, fid in facts["fid"].items()}


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def model_card(metadata: dict, folder: str, latency_text: str | None = None) -> str:
    """The MODEL_CARD.md text of a zoo entry.

    The latency table comes from ``metadata["latency"]``; an entry built
    before it was recorded there passes its card's old latency section as
    `latency_text`.
    """
    config = metadata["training_config"]
    training = metadata.get("training") or {}
    lines = [
        f"# {metadata['name']}",
        "",
        metadata.get("description") or "",
        "",
        "## What it is",
        "",
        f"A ganzoo `{metadata['class_name']}` ({config['model']['family']} generator and "
        f"discriminator, loss `{config['model'].get('loss', 'non_saturating')}`), latent size "
        f"{metadata['latent_dim']}, output shape {tuple(metadata['output_shape'])} in [-1, 1]. "
        f"Generator parameters: {metadata['parameters']['generator']:,}; discriminator: "
        f"{metadata['parameters']['discriminator']:,}.",
        "",
        "```python",
        "import ganzoo",
        f'gan = ganzoo.from_preset("{metadata["name"]}")   # compiled; fit() fine-tunes it',
        "images = gan.generate(16, seed=0)" if not metadata.get("num_classes") else
        "images = gan.generate(16, labels=3, seed=0)   # 16 images of class 3",
        "```",
        "",
        "## Data and training",
        "",
        f"Dataset `{metadata['dataset']}` (train split). Trained on the "
        f"{training.get('backend', '?')} backend (Keras {training.get('keras', '?')}), "
        f"{training.get('generator_steps', '?')} generator steps in "
        f"{training.get('fit_seconds', '?')} s of `fit` on {training.get('machine', '?')} "
        f"({training.get('accelerator', 'cpu')}), "
        f"{training.get('date', '?')}." + (f" {training['note'][0].upper()}{training['note'][1:]}."
                                           if training.get("note") else ""),
        "",
        "Config:",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).strip(),
        "```",
        "",
    ]
    report = metadata.get("metrics")
    if report:
        lines += _metrics_section(report)
    if metadata["export"] is None:
        lines += [
            "## Files",
            "",
            f"`{presets.WEIGHTS_FILE}` (float32, all GAN weights and both optimizers' state, "
            f"{_size(os.path.join(folder, presets.WEIGHTS_FILE)) / 1024:.0f} KiB), `config.json`, "
            "`metadata.json`, `samples.png` (one column per class, latent seed 0). No SavedModel or "
            "TFLite files: ganzoo's export takes single-input generators, and this generator takes "
            "`[z, label]`.",
        ]
        return "\n".join(lines) + "\n"
    lines += [
        "## Files",
        "",
        "| file | quantization | size | max abs error vs Keras | mean abs error | FID change |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| `{presets.WEIGHTS_FILE}` | float32 (all GAN weights) | "
        f"{_size(os.path.join(folder, presets.WEIGHTS_FILE)) / 1024:.0f} KiB | | | |",
    ]
    for facts in metadata["export"]["formats"].values():
        parity = facts["parity"]
        gate = " (gated)" if parity["gated"] else ""
        change = " / ".join(f"{value:+.3g}" for value in facts.get("fid_change", {}).values())
        lines.append(
            f"| `{facts['path']}` | {facts['quantization']} | {facts['size_bytes'] / 1024:.0f} KiB | "
            f"{parity['max_abs_error']:.2g}{gate} | {parity['mean_abs_error']:.2g} | {change} |"
        )
    lines.append("")
    check = metadata["export"].get("fid_check")
    if check:
        keras_fid = " / ".join(f"{value:.4g} ({judge})" for judge, value in check["keras_fid"].items())
        lines.append(
            f"FID change: the file's FID minus the Keras generator's ({keras_fid}), by each "
            f"judge in that order, both on the same {check['n']} latents against {check['n']} "
            "training images."
        )
        lines.append("")
    lines.append(
        f"Errors over {metadata['export']['parity']['num_latents']} fixed latents; gated files "
        f"must agree with Keras to {metadata['export']['parity']['tolerance']:g} or the export "
        "fails."
    )
    lines += ["", latency_text.strip() if latency_text else _latency_section(metadata["latency"])]
    return "\n".join(lines) + "\n"


def _metrics_section(report) -> list[str]:
    from ganzoo.metrics import report as report_lib  # pylint: disable=import-outside-toplevel

    judges = ", ".join(
        f"`{j['extractor']}` ({j['test_accuracy']:.1%} on real test images)"
        if j.get("test_accuracy") else f"`{j['extractor']}`" for j in report["judges"].values())
    lines = [
        "## Metrics",
        "",
        f"`ganzoo evaluate`: {report['n']} samples against {report['n']} training images, by "
        f"two judges, the features of the shipped extractors {judges}; each judge's real floor "
        "is the same metric between training and test images. Where one verdict is needed, the "
        "stricter judge relative to its own floor decides (FID: the larger multiple of the floor; "
        "the others: the smaller share of the floor).",
        "",
        *report_lib.markdown_table(report),
        "",
    ]
    per_class = [j["metrics"].get("class_recall") for j in report["judges"].values()]
    if all(per_class):
        lines += ["Recall within each class, by judge (classes 0-9):", ""]
        for name, values in zip(report["judges"], per_class):
            cells = " ".join("-" if v is None else f"{v:.2f}" for v in values)
            lines.append(f"- {name}: {cells}")
        lines.append("")
    return lines


def _latency_section(rows) -> str:
    return "\n".join([
        "## Latency (batch 1)",
        "",
        f"Median of {rows[0]['rounds']} calls each, interleaved, on "
        f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores), measured when "
        "this entry was built (`benchmarks/inference_latency.py` has the full table).",
        "",
        latency.markdown_table(rows),
    ])


def rescore_entry(folder, *, n_eval: int = 10_000, write: bool = False, verbose: int = 1) -> dict:
    """Re-scores a zoo entry by both judges; with `write`, rewrites its numbers and card.

    Returns the new report (``metrics.json``'s content). Without `write`,
    nothing in `folder` changes. With it, ``metrics.json``, the preset
    metadata's ``metrics``, ``export`` FIDs and ``fingerprint``, and
    ``MODEL_CARD.md`` (keeping its latency section) are replaced.
    """
    from ganzoo.metrics import evaluate  # pylint: disable=import-outside-toplevel

    folder = os.fspath(folder)
    gan = presets.from_preset(folder)
    metadata = presets.read_metadata(folder)
    dataset = metadata["dataset"]
    report = evaluate.evaluate(gan, dataset, n=n_eval, verbose=verbose)
    if not write:
        return report
    if metadata.get("export"):
        _quantized_fid(gan, folder, dataset, min(2000, report["n"]), metadata["export"])
    metadata["metrics"] = report
    metadata["fingerprint"] = fingerprint(gan, dataset)
    card_path = os.path.join(folder, "MODEL_CARD.md")
    latency_text = None
    if not metadata.get("latency") and metadata.get("export"):
        with open(card_path, encoding="utf-8") as f:
            old = f.read()
        latency_text = old[old.index("## Latency"):] if "## Latency" in old else None
    card = model_card(metadata, folder, latency_text)
    for name, text in (("metrics.json", json.dumps(report, indent=2)),
                       (presets.METADATA_FILE, json.dumps(metadata, indent=2) + "\n"),
                       ("MODEL_CARD.md", card)):
        write_text_atomically(os.path.join(folder, name), text)
    return report
