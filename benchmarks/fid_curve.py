"""FID per kimg of a training run that scored itself while training (config `output.metrics: [fid]`).

    python benchmarks/fid_curve.py runs/stylegan2_fashion_mnist [--fit-from-kimg 200]

Reads the run's `history.json` (one FID per judge per scored epoch, on `output.metrics_n`
samples against as many training images) and `config.yaml` (batch size and steps per epoch, for
kimg = thousands of real images shown to the discriminator), prints a markdown table of FID and
FID / floor per judge against kimg, and fits a power law to the FID's excess over its floor,
FID - floor = a * kimg^b, per judge by least squares on log-log over the epochs from
`--fit-from-kimg` on (default: the later half). The floor (the FID of real images against other
real images at the same n) is what no generator can beat at that sample size, so a law for FID
itself would extrapolate through it. It prints the fitted exponent and the FID (floor + law) at
2x and 4x the kimg reached: a trend, not a promise (GAN training can plateau or collapse; the fit
says nothing about that).
"""

import argparse
import json
import os
import sys

import numpy as np
import yaml


def curve(run_dir):
    """`(epochs, kimg, {judge: fid}, {judge: floor})` arrays of the run's scored epochs."""
    with open(os.path.join(run_dir, "history.json"), encoding="utf-8") as f:
        history = json.load(f)
    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    judges = sorted(key[len("fid_"):] for key in history if key.startswith("fid_") and not key.endswith("_floor")
                    and key != "fid_vs_floor")
    if not judges:
        raise ValueError(f"{run_dir}/history.json holds no FID; train with output.metrics: [fid]")
    steps = (config.get("train") or {}).get("steps_per_epoch")
    if not steps:
        raise ValueError(f"{run_dir}/config.yaml sets no train.steps_per_epoch; kimg needs it")
    batch = config["data"]["batch_size"]
    epochs = np.asarray(history["epoch"], dtype=float)
    scored = np.array([v is not None for v in history[f"fid_{judges[0]}"]])
    epochs = epochs[scored]
    kimg = epochs * steps * batch / 1000.0
    fid = {j: np.asarray([v for v in history[f"fid_{j}"] if v is not None], float) for j in judges}
    floor = {j: np.asarray([v for v in history[f"fid_{j}_floor"] if v is not None], float) for j in judges}
    return epochs, kimg, fid, floor


def power_law(kimg, excess):
    """`(a, b)` of excess = a * kimg^b, least squares on log-log."""
    b, log_a = np.polyfit(np.log(kimg), np.log(excess), 1)
    return float(np.exp(log_a)), float(b)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory with history.json and config.yaml")
    parser.add_argument("--fit-from-kimg", type=float, help="fit the power law from this kimg on")
    args = parser.parse_args(argv)
    epochs, kimg, fid, floor = curve(args.run)
    judges = list(fid)
    print(f"{args.run}: FID on the run's metrics_n samples against as many training images, per judge")
    print("| epoch | kimg | " + " | ".join(f"FID {j} (/ floor)" for j in judges) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in judges) + " |")
    for i, k in enumerate(kimg):
        cells = [f"{fid[j][i]:.4g} ({fid[j][i] / floor[j][i]:.1f}x)" for j in judges]
        print(f"| {epochs[i]:.0f} | {k:.0f} | " + " | ".join(cells) + " |")
    start = args.fit_from_kimg if args.fit_from_kimg is not None else kimg[len(kimg) // 2]
    fitted = kimg >= start
    if fitted.sum() < 3:
        print(f"fewer than 3 scored epochs from {start:.0f} kimg: no trend fitted")
        return 0
    for j in judges:
        excess = fid[j] - floor[j]
        usable = fitted & (excess > 0)
        if usable.sum() < 3:
            print(f"trend {j}: fewer than 3 epochs above the floor from {start:.0f} kimg: no trend fitted")
            continue
        a, b = power_law(kimg[usable], excess[usable])
        last_floor = floor[j][-1]
        ahead = ", ".join(f"{last_floor + a * (m * kimg[-1]) ** b:.4g} at {m * kimg[-1]:.0f} kimg" for m in (2, 4))
        print(f"trend {j}: FID - floor ~ {a:.4g} * kimg^{b:.3f} over {usable.sum()} epochs from {start:.0f} kimg; "
              f"extrapolated FID {ahead} (floor {last_floor:.4g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
