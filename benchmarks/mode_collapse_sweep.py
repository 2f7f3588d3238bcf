"""Hyper-parameter sweep that chose the mode-collapse remedy configs (run in parallel processes).

`benchmarks/mode_collapse.py` measures committed zoo configs, 10 seeds each,
sequentially. This script explores variants defined below on the same MLP GAN
(latent 8, three hidden layers) to find which remedies to commit, with one
process per worker. It was run on a lent GPU machine (JAX backend, 14-16
processes on one H100); results are in `benchmarks/results/mode_collapse_sweep.md`.

    KERAS_BACKEND=jax python benchmarks/mode_collapse_sweep.py --processes 14 \
        --steps 30000 --seeds 3 --out /tmp/sweep.jsonl
"""

import argparse
import json
import multiprocessing
import os
import time

NS = {"loss": "non_saturating", "lr": (1e-3, 1e-3), "betas": (0.5, 0.999)}
VARIANTS = {
    "ns_base": {**NS, "gan": {}},
    "ns_ema": {**NS, "gan": {"ema_decay": 0.999}},
    "ns_r1_ema": {**NS, "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_r1big_ema": {**NS, "gan": {"ema_decay": 0.999, "r1_weight": 1.0}},
    "ns_r1x3_ema": {**NS, "gan": {"ema_decay": 0.999, "r1_weight": 0.3}},
    "ns_r1_ema9995": {**NS, "gan": {"ema_decay": 0.9995, "r1_weight": 0.1}},
    "ns_r1_ema9999": {**NS, "gan": {"ema_decay": 0.9999, "r1_weight": 0.1}},
    "ns_r1_ema_lr2e-4": {**NS, "lr": (2e-4, 2e-4), "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_r1_ema_lr5e-4": {**NS, "lr": (5e-4, 5e-4), "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_r1_ema_w256": {**NS, "width": 256, "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_r1_ema_b512": {**NS, "batch": 512, "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_ttur_r1_ema": {**NS, "lr": (4e-3, 1e-3), "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "ns_pack4_ema": {**NS, "gan": {"ema_decay": 0.999, "pack": 4}},
    "ns_pack4_r1_ema": {**NS, "gan": {"ema_decay": 0.999, "pack": 4, "r1_weight": 0.1}},
    "ns_mbstd_ema": {**NS, "d": {"minibatch_stddev": True}, "gan": {"ema_decay": 0.999}},
    "ls_ema": {**NS, "loss": "least_squares", "gan": {"ema_decay": 0.999}},
    "ls_r1_ema": {**NS, "loss": "least_squares", "gan": {"ema_decay": 0.999, "r1_weight": 0.1}},
    "hinge_sn_ema": {**NS, "loss": "hinge", "d": {"spectral_norm": True}, "gan": {"ema_decay": 0.999}},
    "wgan_gp": {"loss": "wasserstein", "lr": (1e-4, 1e-4), "betas": (0.5, 0.9),
                "gan": {"gradient_penalty_weight": 0.1, "d_steps_per_g_step": 5}},
    "wgan_gp_ema": {"loss": "wasserstein", "lr": (1e-4, 1e-4), "betas": (0.5, 0.9),
                    "gan": {"gradient_penalty_weight": 0.1, "d_steps_per_g_step": 5, "ema_decay": 0.999}},
}


def run(dataset, name, seed, steps):
    """Trains one variant on one dataset with one seed; returns its mode coverage."""
    import keras

    from ganzoo import data
    from ganzoo.metrics import mode_coverage
    from ganzoo.models import build_gan

    variant = VARIANTS[name]
    width, batch = variant.get("width", 128), variant.get("batch", 256)
    keras.utils.set_random_seed(seed)
    points, _ = data.load_arrays(dataset, seed=seed)
    hidden = (width,) * 3
    gan = build_gan(
        "mlp", (2,), latent_dim=8, seed=seed,
        generator={"hidden_units": hidden, "output_activation": None},
        discriminator={"hidden_units": hidden, **variant.get("d", {})},
        **variant["gan"],
    )
    (d_lr, g_lr), (beta_1, beta_2) = variant["lr"], variant["betas"]
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=beta_1, beta_2=beta_2),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=beta_1, beta_2=beta_2),
        loss=variant["loss"],
    )
    start = time.time()
    gan.fit(points, batch_size=batch, epochs=max(1, steps // (len(points) // batch)), verbose=0)
    seconds = time.time() - start
    coverage = mode_coverage(
        gan.generate(2500, seed=seed), data.mode_centers(dataset), data.mode_std(dataset)
    )
    return {"dataset": dataset, "variant": name, "seed": seed, "steps": steps,
            "seconds": round(seconds, 1), **coverage.as_dict()}


def worker(jobs, out):
    for job in jobs:
        result = run(*job)
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=sorted(VARIANTS), choices=sorted(VARIANTS))
    parser.add_argument("--steps", type=int, default=30000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--out", default="mode_collapse_sweep.jsonl")
    args = parser.parse_args()
    jobs = [(d, v, s, args.steps) for d in ("ring8", "grid25") for v in args.variants
            for s in range(args.seeds)]
    context = multiprocessing.get_context("spawn")  # each worker imports Keras fresh
    workers = [context.Process(target=worker, args=(jobs[i :: args.processes], args.out))
               for i in range(min(args.processes, len(jobs)))]
    for process in workers:
        process.start()
    for process in workers:
        process.join()


if __name__ == "__main__":
    main()
