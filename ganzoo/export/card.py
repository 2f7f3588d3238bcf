"""The MODEL_CARD.md of a zoo entry, written from its metadata (`ganzoo.export.entry`)."""

from __future__ import annotations

import os
import platform

import yaml

from ganzoo import presets
from ganzoo.export import latency

__all__ = ["model_card"]


def file_size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def weights_files(folder):
    """`(the weight files in backticks, what they hold, size in KiB)` of the preset in `folder`."""
    full = os.path.join(folder, presets.WEIGHTS_FILE)
    if os.path.isfile(full):
        return f"`{presets.WEIGHTS_FILE}`", "all GAN weights and both optimizers' state", file_size(full) / 1024
    names = sorted(name for name in os.listdir(folder) if name.endswith(".weights.h5"))
    return (", ".join(f"`{name}`" for name in names), "the generator's weights only",
            sum(file_size(os.path.join(folder, name)) for name in names) / 1024)


def shipped_section(metadata) -> str:
    """The card's section on what a generator-only entry leaves out and how to get it back ('' if nothing)."""
    shipped = metadata.get("shipped")
    return f"\n## Not shipped\n\n{shipped['note']}\n" if shipped else ""


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
    if os.path.isfile(os.path.join(folder, "truncation.png")):  # a StyleGAN2 entry
        lines += ["## Truncation", "", "`truncation.png`: the same 8 latents (seed 0) at truncation psi 0.5, 0.7 and "
                  "1.0, one row each (`gan.generate(n, seed=0, truncation=psi)`; the exported files are psi 1).", "",
                  "![truncation sweep](truncation.png)", ""]
    report = metadata.get("metrics")
    if report:
        lines += _metrics_section(report)
    if metadata["export"] is None:
        lines += [
            "## Files",
            "",
            "{} (float32, {}, {:.0f} KiB), `config.json`, ".format(*weights_files(folder)),
            
            "`metadata.json`, `samples.png` (one column per class, latent seed 0). No SavedModel or "
            "TFLite files yet: `ganzoo.export.entry.add_exports` adds them from these weights.",
        ]
        return "\n".join(lines) + "\n" + shipped_section(metadata)
    lines += _files_section(metadata, folder)
    when = "when its exports were added" if metadata["export"].get("added") else "when this entry was built"
    lines += ["", latency_text.strip() if latency_text else latency_section(
        metadata["latency"], when, bool(metadata["export"].get("condition")))]
    return "\n".join(lines) + "\n" + shipped_section(metadata)


def _judged(values, sign=""):
    """`cnn / resnet` values of a per-judge dict, in the judges' order."""
    return " / ".join(f"{value:{sign}.3g}" for value in (values or {}).values())


def _files_section(metadata, folder) -> list[str]:
    export = metadata["export"]
    check = export.get("fid_check") or {}
    accuracy = "keras_label_accuracy" in check
    extra = " label accuracy |" if accuracy else ""
    lines = [
        "## Files",
        "",
        f"| file | quantization | size | max abs error vs Keras | mean abs error | FID change |{extra}",
        "| --- | --- | --- | --- | --- | --- |" + (" --- |" if accuracy else ""),
        "| {} | float32 ({}) | {:.0f} KiB | | | |".format(*weights_files(folder))
        + (f" {_judged(check['keras_label_accuracy'])} (Keras) |" if accuracy else ""),
    ]
    for facts in export["formats"].values():
        parity = facts["parity"]
        gate = " (gated)" if parity["gated"] else ""
        lines.append(
            f"| `{facts['path']}` | {facts['quantization']} | {facts['size_bytes'] / 1024:.0f} KiB | "
            f"{parity['max_abs_error']:.2g}{gate} | {parity['mean_abs_error']:.2g} | "
            f"{_judged(facts.get('fid_change'), '+')} |"
            + (f" {_judged(facts.get('label_accuracy'))} |" if accuracy else "")
        )
    lines.append("")
    if check:
        keras_fid = " / ".join(f"{value:.4g} ({judge})" for judge, value in check["keras_fid"].items())
        lines += [
            f"FID change: the file's FID minus the Keras generator's ({keras_fid}), by each "
            f"judge in that order, both on the same {check['n']} latents against {check['n']} "
            "training images.",
            "",
        ]
    formats = export["formats"]
    if accuracy and "tflite" in formats and "tflite_int8" in formats:
        fp32, int8 = formats["tflite"], formats["tflite_int8"]
        lines += [
            "Label accuracy (GAN-test): how often each judge's classifier names the class the "
            f"sample was asked for, on the same {check['n']} latents with labels cycling through "
            f"the classes. int8 beside fp32: label accuracy {_judged(int8['label_accuracy'])} "
            f"against {_judged(fp32['label_accuracy'])}, FID change "
            f"{_judged(int8['fid_change'], '+')} against {_judged(fp32['fid_change'], '+')} "
            "(cnn / resnet).",
            "",
        ]
    parity = export["parity"]
    batches = parity.get("batch_sizes")
    labels = " with labels cycling through the classes" if export.get("condition") else ""
    lines.append(
        f"Errors over {parity['num_latents']} fixed latents{labels}"
        + (f", run in batches of {', '.join(map(str, batches[:-1]))} and {batches[-1]}"
           if batches else "")
        + f"; gated files must agree with Keras to {parity['tolerance']:g} or the export fails."
    )
    condition = export.get("condition")
    if condition:
        lines += [
            "",
            f"The files take `z` (float32) and `{condition['name']}` (int32, "
            f"0..{condition['num_values'] - 1}) by name through their `{export['signature']}` "
            "signature, the int8 file included: "
            f"`ganzoo.runtime.TFLiteGenerator(path).generate(16, labels={condition['num_values'] - 1}, "
            "seed=0)`.",
        ]
    added = export.get("added")
    if added:
        lines += ["", added["note"]]
    return lines


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


def latency_section(rows, when, labelled) -> str:
    labels = " (labels cycling through the classes)" if labelled else ""
    return "\n".join([
        "## Latency (batch 1)",
        "",
        f"Median of {rows[0]['rounds']} calls each{labels}, interleaved, on "
        f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores), measured {when} "
        "(`benchmarks/inference_latency.py` has the full table).",
        "",
        latency.markdown_table(rows),
    ])


