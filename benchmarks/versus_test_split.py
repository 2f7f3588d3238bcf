"""Scores generators side by side against the real test split, by both judges, in one run.

    python benchmarks/versus_test_split.py dcgan_fashion_mnist runs/stylegan2_fashion_mnist [--n 10000]

Each model (a preset name or folder, a run directory, a .keras file) draws `n` samples from latent
seed 0; each sample set and `n` test images of the model's dataset (the preset's or run's, e.g.
``fashion_mnist`` or ``fashion_mnist_32``, whose judges crop to the central 28x28) go through
the dataset's two shipped judges. It prints FID, precision, recall and the classes present per
judge and model, with the real floor (n training images against the same test images) beside
them, and each model's FID as a fraction of the first model's. `ganzoo evaluate` scores against
training images; this is the held-out comparison issue 25 asks for, on the same test images,
latents and judges for every model.
"""

import argparse
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="presets, run directories or .keras files; the first is the baseline")
    parser.add_argument("--n", type=int, default=10_000, help="samples and test images (default 10 000)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from ganzoo import data
    from ganzoo.metrics import class_scores, evaluate, extractors, scores
    from ganzoo.models import loading

    rows, baseline = [], {}
    for model in args.models:
        dataset = loading.trained_dataset(model)
        generator = loading.load_generator(model)
        started = time.perf_counter()
        samples, _ = evaluate.generate_samples(generator, args.n, seed=0)
        test = data.load_arrays(dataset, "test")[0][:args.n]
        train = data.load_arrays(dataset, "train")[0]
        train = train[np.random.default_rng(0).permutation(len(train))[:len(test)]]
        for judge in extractors.get_judges(dataset):
            real = judge.features(test)
            fake, probabilities = judge(samples[:len(test)])
            floor = judge.features(train)
            found = {"fid": scores.frechet_distance(real, fake),
                     "floor": scores.frechet_distance(real, floor),
                     **scores.precision_recall(real, fake, k=3),
                     "classes": class_scores.class_balance(probabilities)["classes_present"]}
            baseline.setdefault(judge.judge, found["fid"])
            rows.append((model, dataset, judge.judge, found, found["fid"] / baseline[judge.judge]))
        print(f"scored {model} ({dataset}) in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{args.n} samples (latent seed 0) against {len(test)} test images; floor: as many training "
          f"images against the same test images; backend {keras.backend.backend()}")
    print("| model | dataset | judge | FID | floor | FID / first model's | precision | recall | classes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for model, dataset, judge, found, ratio in rows:
        print(f"| {model} | {dataset} | {judge} | {found['fid']:.4g} | {found['floor']:.3g} | {ratio:.3f} | "
              f"{found['precision']:.3f} | {found['recall']:.3f} | {found['classes']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
