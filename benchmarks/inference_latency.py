"""Inference latency of the shipped generators: Keras vs SavedModel vs each TFLite file.

For every zoo entry in ``exported/`` (or the ``--presets`` given) it loads the
preset's generator on the chosen Keras backend and times, on the same latents,
the eager Keras call, Keras ``predict_on_batch``, the SavedModel signature and
the four ``.tflite`` files (through `ganzoo.runtime.TFLiteGenerator`), at batch
1 and 64. The runners take turns call by call (`ganzoo.export.latency.measure`),
and the table reports medians, speed-ups over both Keras paths, and file sizes.
It writes ``inference_latency.md`` and ``.json`` under ``--out``.

Usage::

    python benchmarks/inference_latency.py [--presets dcgan_digits ...] [--rounds 200]
        [--backend tensorflow] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", help="preset names or folders (default: all shipped)")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per runner")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras  # pylint: disable=import-outside-toplevel

    from ganzoo import presets  # pylint: disable=import-outside-toplevel
    from ganzoo.export import latency  # pylint: disable=import-outside-toplevel

    names = args.presets or presets.list_presets()
    if not names:
        parser.error(f"no presets in {presets.presets_dir()}; build one with ganzoo export --zoo-entry")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    lines = [
        "# Inference latency of the shipped generators",
        "",
        f"- machine: {machine}",
        f"- Keras {keras.__version__} on the {keras.backend.backend()} backend; LiteRT threads: default",
        f"- date: {date}",
        f"- median of {args.rounds} calls per runner after 5 warm-up calls; the runners take turns "
        "call by call, so load changes hit every row alike. × columns: speed-up over the eager "
        "Keras call and over `predict_on_batch` (Keras' compiled path) at the same batch size.",
    ]
    results = {"machine": machine, "backend": keras.backend.backend(), "date": date,
               "rounds": args.rounds, "presets": {}}
    for name in names:
        folder = presets.find_preset(name)
        if folder is None:
            parser.error(f"no preset {name!r}; known: {', '.join(presets.list_presets())}")
        generator = presets.from_preset(folder).sampling_generator
        print(f"inference_latency: {folder.name} ({generator.count_params():,} generator parameters)",
              flush=True)
        rows = latency.measure(generator, str(folder), batch_sizes=tuple(args.batch_sizes),
                               rounds=args.rounds)
        results["presets"][folder.name] = rows
        table = latency.markdown_table(rows)
        print(table, flush=True)
        lines += ["", f"## {folder.name}", "", table.rstrip()]
        if 1 in args.batch_sizes:
            at1 = {r["runner"]: r for r in rows if r["batch_size"] == 1}
            best = latency.fastest(rows, 1)
            sizes = {r["runner"]: r["file_bytes"] for r in at1.values()}
            lines += [
                "",
                f"At batch 1: TFLite fp32 is "
                f"{at1['keras_eager']['median_ms'] / at1['tflite_fp32']['median_ms']:.1f}× faster "
                f"than the eager Keras call; the fastest TFLite file ({best['runner']}) is "
                f"{at1['keras_predict_on_batch']['median_ms'] / best['median_ms']:.1f}× faster than "
                f"`predict_on_batch`. The int8 file is "
                f"{100 * sizes['tflite_int8'] / sizes['tflite_fp32']:.0f} % of the fp32 file.",
            ]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "inference_latency.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "inference_latency.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {os.path.join(args.out, 'inference_latency.md')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
