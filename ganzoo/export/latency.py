"""Inference latency of a Keras generator and its exports, measured side by side.

`measure` times each way of running the same generator on the same latents (and
labels, cycled through the classes, for a conditional or MAD-GAN generator) —
the eager Keras call, Keras ``predict_on_batch`` (the compiled path), the
SavedModel's serving signature and every ``.tflite`` file through
`ganzoo.runtime.TFLiteGenerator` — interleaving them round by round, so that
load changes on the machine hit every row alike, and reports the median. An
image-in generator is timed on given input images, its files through
`ganzoo.runtime.TFLiteTranslator`, an anomaly scorer (images -> scores) its
``scorer*.tflite`` files through `ganzoo.runtime.TFLiteScorer`.
"""

from __future__ import annotations

import os
import statistics
import time

from ganzoo.models import sampling

__all__ = ["TFLITE_FILES", "fastest", "markdown_table", "measure"]

TFLITE_FILES = {
    "tflite_fp32": "generator.tflite",
    "tflite_fp16": "generator_fp16.tflite",
    "tflite_dynamic": "generator_dynamic.tflite",
    "tflite_int8": "generator_int8.tflite",
}


def _runners(generator, export_dir, batch_size, num_threads, images=None):
    """name -> zero-argument function that runs one batch (labels cycled for a two-input export)."""
    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo.export import conditional, image_in  # pylint: disable=import-outside-toplevel
    from ganzoo.runtime import TFLiteGenerator, TFLiteScorer, TFLiteTranslator  # pylint: disable=import-outside-toplevel

    model, condition = conditional.exportable(generator)
    if image_in.is_image_in(model):
        if images is None or len(images) < batch_size:
            raise ValueError(f"timing an image-in generator needs `images`, at least {batch_size} of them")
        runtime = TFLiteScorer if _is_scorer(model) else TFLiteTranslator
        z, input_name = images[:batch_size], image_in.INPUT_NAME
    else:
        z = sampling.latents(batch_size, int(model.inputs[0].shape[-1]), seed=0)
        runtime, input_name = TFLiteGenerator, "z"
    labels = conditional.cycled_labels(batch_size, condition)
    inputs = z if labels is None else [z, labels]
    runners = {
        "keras_eager": lambda: keras.ops.convert_to_numpy(model(inputs, training=False)),
        "keras_predict_on_batch": lambda: model.predict_on_batch(inputs),
    }
    saved_model = os.path.join(export_dir, "saved_model")
    if os.path.isdir(saved_model):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        serve = tf.saved_model.load(saved_model).signatures["serve"]
        feeds = {input_name: tf.constant(z)}
        if labels is not None:
            feeds[condition["name"]] = tf.constant(labels)
        runners["saved_model"] = lambda: serve(**feeds)
    for name, filename in _files(model).items():
        path = os.path.join(export_dir, filename)
        if os.path.isfile(path):
            runner = runtime(path, num_threads=num_threads)
            runners[name] = (lambda m: lambda: m(z) if labels is None else m(z, labels))(runner)
    return runners


def measure(generator, export_dir, *, batch_sizes=(1, 64), rounds=50, warmup=5,
            num_threads=None, images=None) -> list[dict]:
    """Median latency (ms) of every runner at every batch size.

    Args:
        generator: The Keras generator the exports were made from (a
            mixture's is timed as `mixture.indexed_generator`, as exported).
        export_dir: Folder written by `export_generator`.
        batch_sizes: Batch sizes to time.
        rounds: Timed calls per runner; the runners take turns each round.
        warmup: Untimed calls per runner first (tracing, allocation).
        num_threads: LiteRT threads (None: its default).
        images: Input images of an image-in generator (at least the largest
            batch size).

    Returns:
        Rows ``{"runner", "batch_size", "median_ms", "min_ms", "rounds",
        "file_bytes"}`` (file size for TFLite rows, the SavedModel folder
        size for its row, None for Keras).
    """
    from ganzoo.export import conditional  # pylint: disable=import-outside-toplevel

    rows, files = [], _files(conditional.exportable(generator)[0])
    for batch_size in batch_sizes:
        runners = _runners(generator, export_dir, batch_size, num_threads, images)
        for run in runners.values():
            for _ in range(warmup):
                run()
        times = {name: [] for name in runners}
        for _ in range(rounds):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                times[name].append(1000.0 * (time.perf_counter() - start))
        for name, values in times.items():
            rows.append({
                "runner": name,
                "batch_size": batch_size,
                "median_ms": statistics.median(values),
                "min_ms": min(values),
                "rounds": rounds,
                "file_bytes": _size(export_dir, name, files),
            })
    return rows


def _is_scorer(model):
    shape = model.output_shape
    return isinstance(shape, tuple) and len(shape) == 1  # images -> one score each


def _files(model):
    """`{runner: file name}` of the TFLite files exported from `model` (``scorer*`` for a scorer)."""
    from ganzoo.export import convert  # pylint: disable=import-outside-toplevel

    return convert.tflite_files(convert.SCORES) if _is_scorer(model) else TFLITE_FILES


def _size(export_dir, runner, files):
    if runner in files:
        return os.path.getsize(os.path.join(export_dir, files[runner]))
    if runner == "saved_model":
        total = 0
        for folder, _, files in os.walk(os.path.join(export_dir, "saved_model")):
            total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        return total
    return None


def markdown_table(rows) -> str:
    """Rows of `measure` as a Markdown table with speed-ups over the eager Keras call."""
    lines = ["| runner | batch | median ms | min ms | × eager Keras | × predict_on_batch | file size |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for batch_size in sorted({r["batch_size"] for r in rows}):
        group = [r for r in rows if r["batch_size"] == batch_size]
        eager = next(r["median_ms"] for r in group if r["runner"] == "keras_eager")
        compiled = next(r["median_ms"] for r in group if r["runner"] == "keras_predict_on_batch")
        for r in group:
            size = "" if r["file_bytes"] is None else f"{r['file_bytes'] / 1024:.0f} KiB"
            lines.append(
                f"| {r['runner']} | {batch_size} | {r['median_ms']:.3f} | {r['min_ms']:.3f} | "
                f"{eager / r['median_ms']:.1f} | {compiled / r['median_ms']:.1f} | {size} |"
            )
    return "\n".join(lines) + "\n"


def fastest(rows, batch_size) -> dict:
    """The TFLite row with the lowest median at `batch_size`."""
    return min((r for r in rows if r["batch_size"] == batch_size and r["runner"] in TFLITE_FILES),
               key=lambda r: r["median_ms"])


