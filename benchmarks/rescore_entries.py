"""Re-scores every shipped zoo entry with 10 000 samples by both judges.

Usage::

    python benchmarks/rescore_entries.py [--n 10000] [--write] [ENTRY ...]

Prints each entry's stricter verdicts now beside the ones its ``metrics.json``
records (FID as a multiple of the floor, the others as a share of it) and
their differences; for an image-in entry (pix2pix, SRResNet/SRGAN) its paired
scores on the first 10 000 test pairs (PSNR, SSIM, FID, label accuracy). Nothing is written unless ``--write`` is given; then each
entry's ``metrics.json``, metadata (metrics, TFLite FIDs, fingerprint) and
``MODEL_CARD.md`` are replaced (`ganzoo.export.entry.rescore_entry`). Run on
one backend at a time (``KERAS_BACKEND``); the fingerprint tests check the
others.
"""

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="*", help="default: every folder in exported/")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="rewrite the entries' numbers and cards")
    args = parser.parse_args(argv)

    import keras
    from ganzoo.backend import memory

    memory.keep_freed_memory()
    from ganzoo.export import entry

    exported = os.path.join(ROOT, "exported")
    names = args.entries or sorted(
        name for name in os.listdir(exported)
        if os.path.isfile(os.path.join(exported, name, "MODEL_CARD.md")))
    print(f"re-scoring {', '.join(names)} with n={args.n} on {keras.backend.backend()}, "
          f"{platform.machine()} ({os.cpu_count()} cores); write={args.write}")
    worst = 0.0
    for name in names:
        folder = os.path.join(exported, name)
        with open(os.path.join(folder, "metrics.json"), encoding="utf-8") as f:
            card = json.load(f)
        start = time.perf_counter()
        report = entry.rescore_entry(folder, n_eval=args.n, write=args.write, verbose=0)
        print(f"\n{name}: {time.perf_counter() - start:.0f} s")
        if "scores" in report:  # an image-in entry: its paired scores
            print(f"  {'score':<34} {'now':>10} {'card':>10} {'change':>10}")
            for key, now in report["scores"].items():
                then = card["scores"].get(key)
                if isinstance(now, float) and isinstance(then, float):
                    worst = max(worst, abs(now - then) / max(abs(then), 1e-12))
                    print(f"  {key:<34} {now:>10.4g} {then:>10.4g} {now - then:>+10.3g}")
            continue
        print(f"  {'verdict':<22} {'now':>22} {'card':>22} {'change':>8}")
        for metric, now in report["verdict"].items():
            then = card.get("verdict", {}).get(metric)
            shown = f"{now['ratio']:.4g} ({now['judge']})"
            if then:
                change = now["ratio"] - then["ratio"]
                worst = max(worst, abs(change) / max(abs(then["ratio"]), 1e-12))
                recorded = f"{then['ratio']:.4g} ({then['judge']})"
                print(f"  {metric:<22} {shown:>22} {recorded:>22} {change:>+8.3g}")
            else:
                print(f"  {metric:<22} {shown:>22} {'(not on the card)':>22}")
    print(f"\nlargest relative change of a verdict against the cards: {worst:.2%}"
          + ("" if args.write else " (nothing written; pass --write to update the entries)"))


if __name__ == "__main__":
    main()
