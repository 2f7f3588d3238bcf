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
* ``MODEL_CARD.md`` (`ganzoo.export.card`) with the numbers above, file
  sizes, each TFLite file's FID change (and, for a conditional generator, its
  label accuracy) against the Keras generator, and batch-1 latency.

`rescore_entry(folder)` re-scores a shipped entry the same way and, when
asked, rewrites its metrics, fingerprint and card (``make bench`` runs it).
`add_exports(folder)` adds the exports to an entry shipped without them (as
conditional entries were before their export existed), from its weights.

Everything is assembled in a staging folder beside `out_dir` and moved into
place at the end; an existing `out_dir` is never touched without `overwrite`.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile

import keras
import yaml

from ganzoo import plots, presets
from ganzoo.files import write_text_atomically
from ganzoo.models import sampling, style_sampling
from ganzoo.export import anomaly_entry, conditional, cycle_entry, image_entry, image_in, latency
from ganzoo.export.card import model_card
from ganzoo.export.errors import ExportError
from ganzoo.export.fingerprint import fingerprint
from ganzoo.export.generator import export_generator

__all__ = ["add_exports", "build_entry", "model_card", "rescore_entry"]


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
        image = image_in.is_image_in(gan.sampling_generator)
        cycle = hasattr(gan, "generator_for")  # a CycleGAN: an export set per direction
        scorer = _is_scorer(gan)  # an anomaly scorer: its scorer's export set, AUROC
        report, examples, rows = None, None, None
        if cycle or scorer:
            os.makedirs(staging)
            parts = (cycle_entry.build(gan, dataset, staging, n_eval=n_eval, latency_rounds=latency_rounds) if cycle
                     else anomaly_entry.build(gan, dataset, staging, limit=n_eval, latency_rounds=latency_rounds))
            export_facts, report, rows = parts["export"], parts["metrics"], parts["latency"]
            if scorer:
                with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as f:
                    json.dump(report, f, indent=2)
        else:
            export_facts = export_generator(gan, staging, inputs=dataset if image else None)
        if cycle or scorer:
            pass  # picture, scores and latency are cycle_entry's / anomaly_entry's
        elif image:  # input | output | target triplets, paired scores, TFLite files scored alike
            from ganzoo.data import pairs  # pylint: disable=import-outside-toplevel
            from ganzoo.metrics import paired  # pylint: disable=import-outside-toplevel

            image_entry.samples_picture(gan, dataset, os.path.join(staging, "samples.png"))
            report = paired.evaluate_pairs(gan.sampling_generator, dataset, n=n_eval)
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
            image_entry.tflite_quality(gan, staging, dataset, min(2000, report["n"]), export_facts)
            examples = pairs.load_pair_arrays(dataset, "test", limit=1)[0]
        else:
            classes = sampling.num_classes(gan.sampling_generator)
            # A conditional entry's grid has one column per class.
            samples = gan.generate(64 if classes is None else classes * classes, seed=0)
            plots.save_image_grid(samples, os.path.join(staging, "samples.png"),
                                  columns=classes)
            if style_sampling.is_style_generator(gan.sampling_generator):  # rows of psi 0.5, 0.7, 1
                style_sampling.truncation_picture(gan.sampling_generator, os.path.join(staging, "truncation.png"))
        if not image and dataset in extractors.available_extractors():  # (a CycleGAN is image-in)
            report = evaluate.evaluate(gan, dataset, n=n_eval, verbose=verbose)
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
            _tflite_quality(gan, staging, dataset, min(2000, report["n"]), export_facts)
        if rows is None:
            rows = latency.measure(gan.sampling_generator, staging, batch_sizes=(1,),
                                   rounds=latency_rounds, images=examples)

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
        from ganzoo.training import run  # pylint: disable=import-outside-toplevel

        class_names = run.read_class_names(run_dir)
        if class_names:  # a run trained on a folder of class folders: --labels may name them
            metadata["class_names"] = class_names
        presets.save_preset(gan, preset_dir, metadata=metadata)
        for name in os.listdir(preset_dir):
            os.replace(os.path.join(preset_dir, name), os.path.join(staging, name))
        # The preset's metadata.json replaces the export's; its facts are under "export".
        metadata = presets.read_metadata(staging)
        with open(os.path.join(staging, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
            f.write(_card(cycle, scorer, image)(metadata, staging))
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
    return metadata


def _is_scorer(gan):
    return callable(getattr(gan, "scorer_model", None))


def _card(cycle, scorer, image):
    """The model-card writer of an entry of this kind."""
    if cycle:
        return cycle_entry.model_card
    if scorer:
        return anomaly_entry.model_card
    return image_entry.model_card if image else model_card


def _tflite_quality(gan, folder, dataset, n, export_facts):
    """Adds each TFLite file's FID by each judge, its change from Keras' and its label accuracy.

    Every runner gets the same `n` latents (seed 0; labels cycling through the
    classes for a conditional generator, as `TFLiteGenerator.generate` draws
    them) and is scored against the same `n` training images with the
    dataset's shipped judges. A conditional generator's files also get each
    judge's label accuracy (GAN-test: how often its classifier names the
    requested class), the Keras generator's under ``fid_check``.
    """
    from ganzoo.metrics import evaluate  # pylint: disable=import-outside-toplevel
    from ganzoo.runtime import TFLiteGenerator  # pylint: disable=import-outside-toplevel

    reference = evaluate.reference_set(dataset, n, seed=0)
    samples, labels = conditional.keras_samples(gan.sampling_generator, reference.n, seed=0)
    if sampling.num_classes(gan.sampling_generator) is None:
        labels = None  # a mixture's labels are generator indices, not classes

    def scores(samples):
        found = evaluate.evaluate_samples(samples, dataset, metrics=["fid"], reference=reference,
                                          labels=labels)
        return ({judge: s["fid"] for judge, s in found.items()},
                {judge: s["label_accuracy"] for judge, s in found.items() if "label_accuracy" in s})

    keras_fid, keras_accuracy = scores(samples)
    export_facts["fid_check"] = {"n": reference.n, "seed": 0, "keras_fid": keras_fid}
    if keras_accuracy:
        export_facts["fid_check"].update(labels="cycled through the classes",
                                         keras_label_accuracy=keras_accuracy)
    for facts in export_facts["formats"].values():
        for key in ("fid", "fid_change", "label_accuracy"):
            facts.pop(key, None)
        if facts["path"].endswith(".tflite"):
            runner = TFLiteGenerator(os.path.join(folder, facts["path"]))
            facts["fid"], accuracy = scores(runner.generate(reference.n, seed=0))
            facts["fid_change"] = {judge: fid - keras_fid[judge]
                                   for judge, fid in facts["fid"].items()}
            if accuracy:
                facts["label_accuracy"] = accuracy


def add_exports(folder, *, n_check: int = 2000, latency_rounds: int = 50) -> dict:
    """Adds SavedModel and TFLite files to a zoo entry shipped without them, from its weights.

    For an entry built before its kind of generator could be exported (the
    conditional ones): nothing is retrained, and its metrics, fingerprint and
    training facts stay as recorded. The exports pass `export_generator`'s
    parity gate, each TFLite file is scored on `n_check` samples (at most the
    recorded metrics' n) by the dataset's judges, where it has them (FID
    change and, for a conditional generator, label accuracy, as `build_entry`
    does),
    batch-1 latency is measured, and ``metadata.json`` (under ``"export"`` and
    ``"latency"``) and ``MODEL_CARD.md`` are rewritten.

    Returns:
        The entry's new metadata.

    Raises:
        ExportError: when the entry already has exports or an export fails
            (then nothing in `folder` changes).
    """
    from ganzoo.metrics import extractors  # pylint: disable=import-outside-toplevel

    sampling.check_int("n_check", n_check, minimum=2)
    folder = os.path.abspath(os.fspath(folder))
    metadata = presets.read_metadata(folder)
    if metadata.get("export"):
        raise ExportError(f"{folder!r} already has exports; rebuild the entry with "
                          "ganzoo export RUN --zoo-entry --force instead")
    in_the_way = [name for name in ("saved_model", *latency.TFLITE_FILES.values())
                  if os.path.lexists(os.path.join(folder, name))]
    if in_the_way:
        raise ExportError(f"{', '.join(in_the_way)} already in {folder!r}; move them away first")
    gan = presets.from_preset(folder)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.exports-",
                               dir=os.path.dirname(folder))
    try:
        exports = os.path.join(staging, "exports")
        export_facts = export_generator(gan, exports)
        os.remove(os.path.join(exports, "metadata.json"))  # its facts go under "export"
        if metadata.get("dataset") in extractors.available_extractors():
            report = metadata.get("metrics") or {}
            _tflite_quality(gan, exports, metadata["dataset"], min(n_check, report.get("n", n_check)),
                            export_facts)
        rows = latency.measure(gan.sampling_generator, exports, batch_sizes=(1,),
                               rounds=latency_rounds)
        date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        export_facts["added"] = {"date": date, "note": (
            f"The exports were added on {date} from the shipped `{presets.WEIGHTS_FILE}` (nothing "
            "retrained; the metrics above and the fingerprint are those recorded before) with "
            "`ganzoo.export.entry.add_exports`, on the "
            f"{keras.backend.backend()} backend.")}
        metadata.update(export=export_facts, latency=rows)
        card = model_card(metadata, folder)
        for name in os.listdir(exports):
            os.replace(os.path.join(exports, name), os.path.join(folder, name))
        write_text_atomically(os.path.join(folder, presets.METADATA_FILE),
                              json.dumps(metadata, indent=2) + "\n")
        write_text_atomically(os.path.join(folder, "MODEL_CARD.md"), card)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return metadata


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
    cycle = hasattr(gan, "generator_for")
    if _is_scorer(gan):  # AUROC at the shipped threshold, each TFLite file scored alike
        report = anomaly_entry.evaluate_scorer(gan, dataset, limit=n_eval)
        if write:
            _, images, labels, normal, _ = anomaly_entry.test_split(dataset, n_eval)
            anomaly_entry.tflite_quality(os.path.join(folder, "scorer"), images, labels != normal,
                                         metadata["export"])
    elif image_in.is_image_in(gan.sampling_generator):  # paired (or unpaired) scores, TFLite files scored alike
        from ganzoo.metrics import paired, unpaired  # pylint: disable=import-outside-toplevel

        if cycle:
            report = unpaired.evaluate_unpaired(gan.a_to_b, gan.b_to_a, dataset, n=n_eval)
            if write:
                cycle_entry.tflite_quality(gan, folder, dataset, min(2000, *report["n"].values()),
                                           metadata["export"])
        else:
            report = paired.evaluate_pairs(gan.sampling_generator, dataset, n=n_eval)
            if write:
                image_entry.tflite_quality(gan, folder, dataset, min(2000, report["n"]), metadata["export"])
    else:
        report = evaluate.evaluate(gan, dataset, n=n_eval, verbose=verbose)
        if write and metadata.get("export"):
            _tflite_quality(gan, folder, dataset, min(2000, report["n"]), metadata["export"])
    if write:
        metadata.update(metrics=report, fingerprint=fingerprint(gan, dataset))
        card = card_for(gan, metadata, folder)
        for name, text in (("metrics.json", json.dumps(report, indent=2)),
                           (presets.METADATA_FILE, json.dumps(metadata, indent=2) + "\n"),
                           ("MODEL_CARD.md", card)):
            write_text_atomically(os.path.join(folder, name), text)
    return report


def card_for(gan, metadata, folder):
    """The card of an entry of `gan`'s kind (an old generic card's latency section kept)."""
    if not _is_scorer(gan) and not hasattr(gan, "generator_for") and not image_in.is_image_in(gan.sampling_generator):
        latency_text = None
        if not metadata.get("latency") and metadata.get("export"):
            with open(os.path.join(folder, "MODEL_CARD.md"), encoding="utf-8") as f:
                old = f.read()
            latency_text = old[old.index("## Latency"):] if "## Latency" in old else None
        return model_card(metadata, folder, latency_text)
    return _card(hasattr(gan, "generator_for"), _is_scorer(gan), True)(metadata, folder)
