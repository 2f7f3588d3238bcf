"""Re-saves the shipped zoo entries for shipping: generator-only presets, no SavedModel folders.

Usage::

    python benchmarks/slim_entries.py [--keep-training-state NAME,...] [ENTRY ...]

Every entry (default: all of ``exported/``) not slimmed yet goes through
`ganzoo.export.slim.slim_entry`: its preset is re-saved with the generator's
weights only (the entries named by ``--keep-training-state``, default
``srresnet_fashion_mnist_x4``, which ``srgan_fashion_mnist_x4`` fine-tunes
from, keep the full training state) and checked against its fingerprint
before anything changes; its ``saved_model/`` folders are removed
(``ganzoo export NAME --out DIR`` writes them again). Prints each entry's size
before and after, and ``exported/``'s total.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
EXPORTED = os.path.join(ROOT, "exported")


def size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="*", help="default: every folder in exported/")
    parser.add_argument("--keep-training-state", default="srresnet_fashion_mnist_x4",
                        help="comma-separated entries that keep the full training state (fine-tuning sources)")
    args = parser.parse_args(argv)

    from ganzoo import presets
    from ganzoo.export.slim import slim_entry

    keep = {name for name in args.keep_training_state.split(",") if name}
    names = args.entries or sorted(n for n in os.listdir(EXPORTED) if presets.is_preset(os.path.join(EXPORTED, n)))
    before_total = size(EXPORTED)
    for name in names:
        folder = os.path.join(EXPORTED, name)
        if presets.read_metadata(folder).get("shipped"):
            print(f"{name}: already slimmed ({size(folder) / 2**20:.1f} MiB)")
            continue
        before = size(folder)
        slim_entry(folder, training_state=name in keep)
        print(f"{name}: {before / 2**20:.1f} -> {size(folder) / 2**20:.1f} MiB"
              + (" (training state kept)" if name in keep else " (generator only)"), flush=True)
    print(f"exported/: {before_total / 2**20:.1f} -> {size(EXPORTED) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
