"""How do the two judges differ? Blur, noise, confidence and calibration on real images.

For each dataset with shipped judges (`ganzoo.metrics.extractors.get_judges`)
and each judge, on the real test split:

* accuracy, mean confidence (top-class probability) and expected calibration
  error (ECE, 15 equal-width confidence bins) on clean images, on images
  blurred by a Gaussian of sigma 0.5 / 1 / 1.5 pixels
  (`scipy.ndimage.gaussian_filter`) and on images with added Gaussian noise of
  standard deviation 0.1 / 0.2 / 0.4 (images in [-1, 1], clipped back);
* the FID of those degraded test images against ``n`` training images, as a
  multiple of the judge's real floor (clean test images): how hard each judge
  punishes blur and noise, the two flaws GAN samples have;

and for every shipped zoo entry, how often the two judges name the same class
for its samples (``n`` samples, seed 0).

Writes ``judges.md``, ``judges.json`` and ``judges.png`` (accuracy and FID
multiple against blur and noise, per dataset and judge) into ``--out``.

Usage::

    python benchmarks/judges.py [--n 10000] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT_OUT = os.path.join(ROOT, "benchmarks", "results")
BLURS = (0.5, 1.0, 1.5)
NOISES = (0.1, 0.2, 0.4)


def degrade(images, kind, amount, seed=0):
    from scipy import ndimage

    if kind == "clean":
        return images
    if kind == "blur":
        return np.stack([ndimage.gaussian_filter(image, sigma=(amount, amount, 0))
                         for image in images]).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, amount, images.shape)
    return np.clip(images + noise, -1, 1).astype(np.float32)


def calibration(probabilities, labels, bins=15):
    """(accuracy, mean confidence, expected calibration error)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = sum(abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
              for b in range(bins) if np.any(which == b))
    return float(correct.mean()), float(confidence.mean()), float(ece)


def measure_dataset(dataset, n):
    from ganzoo.metrics import evaluate, scores

    reference = evaluate.reference_set(dataset, n, seed=0)
    rows = []
    conditions = [("clean", 0)] + [("blur", s) for s in BLURS] + [("noise", s) for s in NOISES]
    for judge in reference.judges:
        real = reference.train_features[judge.judge]
        floor = None
        for kind, amount in conditions:
            images = degrade(reference.test, kind, amount)
            features, probabilities = judge(images)
            accuracy, confidence, ece = calibration(probabilities, reference.test_labels)
            fid = scores.frechet_distance(real, features)
            floor = fid if kind == "clean" else floor
            rows.append({"dataset": dataset, "judge": judge.judge, "condition": kind,
                         "amount": amount, "accuracy": accuracy, "confidence": confidence,
                         "ece": ece, "fid": fid, "fid_multiple": fid / floor})
    return reference.n, rows


def agreement(name, n):
    import ganzoo
    from ganzoo import presets
    from ganzoo.metrics import evaluate, extractors

    dataset = presets.read_metadata(name)["dataset"]
    gan = ganzoo.from_preset(name)
    samples, labels = evaluate.generate_samples(gan, n, seed=0)
    predicted = {j.judge: np.argmax(j.probabilities(samples), axis=1)
                 for j in extractors.get_judges(dataset)}
    cnn, resnet = predicted["cnn"], predicted["resnet"]
    row = {"entry": name, "n": n, "agreement": float(np.mean(cnn == resnet)),
           "confidence": {j.judge: float(j.probabilities(samples).max(axis=1).mean())
                          for j in extractors.get_judges(dataset)}}
    if labels is not None:
        row.update({f"label_accuracy_{k}": float(np.mean(v == labels)) for k, v in predicted.items()})
        # Per class, and after a light blur (sigma 0.5) that removes pixel-scale artifacts.
        row["class_accuracy"] = {k: [float(np.mean(v[labels == c] == c)) for c in range(10)]
                                 for k, v in predicted.items()}
        row["confused_with"] = {
            k: [int(np.bincount(v[(labels == c) & (v != c)], minlength=10).argmax())
                if np.any((labels == c) & (v != c)) else None for c in range(10)]
            for k, v in predicted.items()}
        blurred = degrade(samples, "blur", 0.5)
        row["label_accuracy_blur_0.5"] = {
            j.judge: float(np.mean(np.argmax(j.probabilities(blurred), axis=1) == labels))
            for j in extractors.get_judges(dataset)}
    return row


def markdown(result):
    lines = [
        "# The two judges on degraded real images",
        "",
        f"`python benchmarks/judges.py --n {result['n']}`, {result['date']}, {result['machine']}, "
        f"Keras {result['keras']} on {result['backend']}, {result['seconds']:.0f} s. Test images "
        "blurred (Gaussian, sigma in pixels) or noised (Gaussian, std on the [-1, 1] scale); ECE: "
        "expected calibration error, 15 bins; FID multiple: the degraded test images' FID "
        "against training images over the clean test images' (the real floor).",
        "",
        "| dataset | judge | condition | accuracy | mean confidence | ECE | FID multiple |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        condition = r["condition"] if r["condition"] == "clean" else f"{r['condition']} {r['amount']:g}"
        lines.append(f"| {r['dataset']} | {r['judge']} | {condition} | {r['accuracy']:.1%} | "
                     f"{r['confidence']:.3f} | {r['ece']:.3f} | {r['fid_multiple']:.3g} |")
    lines += ["", "## Do the judges name the same class for generated samples?", "",
              "Seed 0; confidence: mean top-class probability on the samples.", "",
              "| entry | samples | same class | confidence cnn | confidence resnet | GAN-test by cnn "
              "| GAN-test by resnet | GAN-test after blur 0.5, cnn / resnet |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["agreement"]:
        cnn = f"{r['label_accuracy_cnn']:.1%}" if "label_accuracy_cnn" in r else ""
        resnet = f"{r['label_accuracy_resnet']:.1%}" if "label_accuracy_resnet" in r else ""
        blur = r.get("label_accuracy_blur_0.5")
        blur = f"{blur['cnn']:.1%} / {blur['resnet']:.1%}" if blur else ""
        lines.append(f"| {r['entry']} | {r['n']} | {r['agreement']:.1%} | "
                     f"{r['confidence']['cnn']:.3f} | {r['confidence']['resnet']:.3f} | {cnn} | "
                     f"{resnet} | {blur} |")
    for r in result["agreement"]:
        if "class_accuracy" in r:
            lines += ["", f"GAN-test of `{r['entry']}` per class (0-9):", ""]
            for judge, values in r["class_accuracy"].items():
                lines.append(f"- {judge}: " + " ".join(f"{v:.0%}" for v in values))
            for judge, classes in r["confused_with"].items():
                lines.append(f"- {judge}'s commonest wrong class, per class: "
                             + " ".join("-" if c is None else str(c) for c in classes))
    return "\n".join(lines) + "\n"


def figure(result, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    datasets = sorted({r["dataset"] for r in result["rows"]})
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), constrained_layout=True)
    for col, kind in enumerate(("blur", "noise")):
        for dataset in datasets:
            for judge, style in (("cnn", "-o"), ("resnet", "--s")):
                rows = [r for r in result["rows"] if r["dataset"] == dataset and r["judge"] == judge
                        and r["condition"] in ("clean", kind)]
                amounts = [r["amount"] for r in rows]
                label = f"{dataset} {judge}"
                axes[0, col].plot(amounts, [100 * r["accuracy"] for r in rows], style, label=label)
                axes[1, col].plot(amounts, [r["fid_multiple"] for r in rows], style, label=label)
        unit = "Gaussian blur sigma (pixels)" if kind == "blur" else "noise std ([-1, 1] scale)"
        done = {"blur": "blurred", "noise": "noised"}[kind]
        axes[0, col].set(title=f"accuracy on {done} real test images", xlabel=unit,
                         ylabel="accuracy (%)")
        axes[1, col].set(title="FID of those images as a multiple of the floor", xlabel=unit,
                         ylabel="FID / real floor", yscale="log")
    axes[0, 0].legend(fontsize=8)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    import keras
    from ganzoo import presets
    from ganzoo.metrics import extractors

    start = time.perf_counter()
    rows, used = [], {}
    for dataset in extractors.available_extractors():
        used[dataset], found = measure_dataset(dataset, args.n)
        rows += found
    entries = [name for name in presets.list_presets()
               if os.path.isfile(os.path.join(ROOT, "exported", name, "MODEL_CARD.md"))]
    result = {
        "n": args.n,
        "n_used": used,
        "rows": rows,
        "agreement": [agreement(name, args.n) for name in entries],
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - start,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "judges.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    figure(result, os.path.join(args.out, "judges.png"))
    text = markdown(result)
    with open(os.path.join(args.out, "judges.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
