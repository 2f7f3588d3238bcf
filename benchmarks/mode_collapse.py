"""Mode-collapse benchmark: modes covered, % high quality and reverse KL on ring8 and grid25.

Trains every given config once per seed (``build_from_config`` + ``fit``, no
run directories), scores 2 500 samples with the VEEGAN/PacGAN protocol of
`ganzoo.metrics.mode_coverage` and writes, under ``--out``:

* ``mode_collapse.md``: the machine, then one table per dataset, best config
  first (more modes covered, then more high-quality samples, then lower
  reverse KL), with the published numbers as extra rows;
* ``mode_collapse.json``: every per-seed score and the summary;
* ``mode_collapse_runs.jsonl``: one line per finished run, written as it ends;
* ``mode_collapse_<config>.png``: seed 0's samples over the mode centres.

Runs already in ``mode_collapse_runs.jsonl`` (same config, seed, ``--steps``
and backend) are reused, so an interrupted benchmark resumes where it stopped
and separate invocations (say 10 seeds of one config, 3 of another) build one
report; the report covers every run in that file for the backend. Delete the
file, or pass another ``--out``, to start afresh.

Usage::

    python benchmarks/mode_collapse.py [--configs NAME_OR_PATH ...] [--seeds 10]
        [--backend tensorflow] [--steps N] [--equal-budget | --remedy-budget]
        [--out benchmarks/results]

Without ``--configs`` it runs every zoo config whose dataset is ring8 or grid25.
``--steps N`` trains for one epoch of N steps instead of the config's schedule
(for smoke runs). ``--equal-budget`` trains every remedy config on the
networks, latent size, batch and steps of its dataset's plain GAN
(``gan_ring8``, ``gan_grid25``), recorded as ``<config>@gan_<dataset>``, so
the remedy is the only difference from the baseline. ``--remedy-budget`` is
the other half of that ablation: each dataset's plain GAN on the networks,
latent size, batch and steps the remedy configs share (those of
``r1_ema_<dataset>``), recorded as ``gan_<dataset>@r1_ema_<dataset>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import append_run, finite_or_none, machine, mean_std, read_runs, utc_now  # noqa: E402

DATASETS = ("ring8", "grid25")
SAMPLES = 2500  # as in VEEGAN and PacGAN
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# (dataset, method, source, modes covered, % high quality, reverse KL); None: not reported.
# PacGAN's Table 1 (Lin et al. 2018): means of 10 trials, its own GAN baseline beside PacGAN4.
PUBLISHED = (
    ("ring8", "VEEGAN", "Srivastava et al. 2017", 8.0, 52.9, None),
    ("ring8", "Unrolled GAN", "Srivastava et al. 2017", 7.6, 35.6, None),
    ("ring8", "GAN", "Lin et al. 2018, Table 1", 6.3, 98.2, 0.45),
    ("ring8", "PacGAN4", "Lin et al. 2018, Table 1", 7.8, 95.9, 0.07),
    ("grid25", "VEEGAN", "Srivastava et al. 2017", 24.6, 40.0, None),
    ("grid25", "Unrolled GAN", "Srivastava et al. 2017", 23.6, 16.0, None),
    ("grid25", "GAN", "Lin et al. 2018, Table 1", 17.3, 94.8, 0.70),
    ("grid25", "PacGAN4", "Lin et al. 2018, Table 1", 24.8, 93.6, 0.04),
)


def parse_args(argv=None):
    """Parses the command line (before Keras is imported, so --backend can take effect)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", metavar="NAME_OR_PATH",
                        help="zoo config names or YAML paths; default: every ring8/grid25 config")
    parser.add_argument("--seeds", type=int, default=10, help="runs per config (seeds 0..S-1)")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--steps", type=int, default=None,
                        help="train one epoch of this many steps instead of the config's schedule")
    parser.add_argument("--equal-budget", action="store_true",
                        help="train every remedy config with its dataset's plain GAN's (gan_<dataset>) "
                             "networks, latent size, batch and steps: only the remedy differs")
    parser.add_argument("--remedy-budget", action="store_true",
                        help="train each dataset's plain GAN with the remedy configs' networks, latent "
                             "size, batch and steps (those of r1_ema_<dataset>)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for the report, JSON and plots")
    parser.add_argument("--note", default=None, help="a sentence added under the report's header")
    parser.add_argument("--dry-run", action="store_true",
                        help="only rewrite the report from the runs already recorded")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}; pass e.g. --seeds 10")
    if args.equal_budget and args.remedy_budget:
        parser.error("--equal-budget and --remedy-budget are the two halves of the ablation; "
                     "pass one of them per invocation")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}; leave it out for full training")
    return parser, args


def load_configs(parser, names):
    """Loads and checks the configs to benchmark (all ring8/grid25 zoo configs if none given)."""
    from ganzoo import config as config_lib, config_files  # pylint: disable=import-outside-toplevel

    candidates = names or config_files.zoo_config_names()
    configs = []
    for name in candidates:
        try:
            config = config_lib.load(name)
        except config_lib.ConfigError as error:
            parser.error(str(error))
        if config.data.dataset in DATASETS:
            configs.append(config)
        elif names:
            parser.error(f"config {name!r} trains on {config.data.dataset!r}; "
                         f"mode_collapse needs a config on {' or '.join(DATASETS)}")
    if not configs:
        parser.error(f"no config trains on {' or '.join(DATASETS)}; pass some with --configs")
    return configs


def with_budget_of(config, baseline):
    """`config`'s remedy (loss, regularizers, EMA, packing, ...) on `baseline`'s networks, batch and steps.

    The networks' sizes (hidden units), the latent size, the batch size and the
    schedule (epochs, steps per epoch) come from `baseline`; everything else
    (the remedy, its optimizer settings) from `config`. The name becomes
    ``<config>@<baseline>`` so its runs are recorded apart.
    """
    model = dataclasses.replace(
        config.model, latent_dim=baseline.model.latent_dim,
        generator={**config.model.generator, "hidden_units": baseline.model.generator["hidden_units"]},
        discriminator={**config.model.discriminator,
                       "hidden_units": baseline.model.discriminator["hidden_units"]})
    return dataclasses.replace(
        config, name=f"{config.name}@{baseline.name}", model=model,
        description=f"{config.description}; on {baseline.name}'s networks, batch and steps",
        data=dataclasses.replace(config.data, batch_size=baseline.data.batch_size),
        train=dataclasses.replace(config.train, epochs=baseline.train.epochs,
                                  steps_per_epoch=baseline.train.steps_per_epoch))


def equal_budget(configs):
    """The baselines `gan_<dataset>` as they are, and every other config on its baseline's budget."""
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel

    baselines = {dataset: config_lib.load(f"gan_{dataset}") for dataset in {c.data.dataset for c in configs}}
    return [config if config.name == baselines[config.data.dataset].name
            else with_budget_of(config, baselines[config.data.dataset]) for config in configs]


def run_once(config, seed, steps):
    """Trains `config` with `seed`; returns (gan, coverage, seconds to load, build, fit, score)."""
    import keras  # pylint: disable=import-outside-toplevel
    from ganzoo import data  # pylint: disable=import-outside-toplevel
    from ganzoo.metrics import evaluate_mode_coverage  # pylint: disable=import-outside-toplevel
    from ganzoo.training.run import build_from_config  # pylint: disable=import-outside-toplevel

    schedule = {"epochs": 1, "steps_per_epoch": steps} if steps else {}
    train = dataclasses.replace(config.train, seed=seed, **schedule)
    config = dataclasses.replace(config, train=train)
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    dataset = data.load(config.data.dataset, batch_size=config.data.batch_size, seed=seed,
                        limit=config.data.limit)
    if config.train.steps_per_epoch:
        dataset = dataset.repeat()  # a fixed step count must never run out of batches
    gan = build_from_config(config)
    # The dataset is already shuffled; fit's default shuffle=True would only warn every run.
    gan.fit(dataset, epochs=config.train.epochs, steps_per_epoch=config.train.steps_per_epoch,
            shuffle=False, verbose=0)
    coverage = evaluate_mode_coverage(gan, config.data.dataset, n=SAMPLES, seed=seed)
    return gan, coverage, time.perf_counter() - start


def run_key(run):
    """What makes two recorded runs the same measurement."""
    return (run["config"], run["seed"], run["steps"], run["backend"])


def summarize(runs):
    """Mean and std of each score over the seeds of one config."""
    return {
        "seeds": len(runs),
        "generator_steps": sorted({r["generator_steps"] for r in runs}),
        "modes_covered": mean_std([r["modes_covered"] for r in runs]),
        "high_quality_percent": mean_std([100.0 * r["high_quality"] for r in runs]),
        "reverse_kl": mean_std([r["reverse_kl"] for r in runs]),
        # Median and minimum: runs that shared the machine are slower, the fastest is the cost alone.
        "seconds": (float(np.median([r["seconds"] for r in runs])), min(r["seconds"] for r in runs)),
    }


def rank_key(summary):
    """Sort key, best first: more modes covered, then more high quality, then lower KL."""
    return (-summary["modes_covered"][0], -summary["high_quality_percent"][0],
            summary["reverse_kl"][0])


def row_name(run):
    """A report row: one config at one schedule (smoke runs with --steps get their own row)."""
    return run["config"] if run["steps"] is None else f"{run['config']} [--steps {run['steps']}]"


def rank(runs, summaries):
    """Each dataset's row names, best first; datasets without runs are left out."""
    tables = {}
    for dataset in DATASETS:
        names = sorted({row_name(r) for r in runs if r["dataset"] == dataset})
        if names:
            tables[dataset] = sorted(names, key=lambda name: rank_key(summaries[name]))
    return tables


def cell(stats, fmt):
    """Formats a (mean, std) pair as 'mean ± std', a lone published mean as itself."""
    if stats is None:
        return ""  # the paper gives no number
    if not isinstance(stats, tuple):
        return f"{stats:{fmt}}"
    mean, std = stats
    if not math.isfinite(mean):
        return "inf"
    if isinstance(std, float) and math.isnan(std):
        return f"{mean:{fmt}}"
    return f"{mean:{fmt}} ± {std:{fmt}}"


def markdown(runs, tables, summaries, total_seconds, note=None):
    """The report: machines, settings, then one ranked table per dataset."""
    machines = sorted({f"{r['cpu']}, {r['cores']} cores, {r['platform']}" for r in runs})
    software = sorted({f"{r['backend']}, Keras {r['keras']}, Python {r['python']}" for r in runs})
    dates = sorted(r["date"] for r in runs)
    lines = [
        "# Mode-collapse benchmark",
        "",
        f"- machine: {'; '.join(machines)}",
        f"- backend: {'; '.join(software)}",
        f"- runs from {dates[0]} to {dates[-1]} (UTC)",
        f"- total wall time of the runs in this report: {total_seconds:.1f} s "
        f"({total_seconds / 3600:.2f} h; the sum over runs)",
        *([f"- note: {note}"] if note else []),
        "",
        f"Protocol (VEEGAN, PacGAN): {SAMPLES} samples; a sample is high quality within 3 std of "
        "its nearest mode; a mode is covered if it is the nearest mode of a high-quality sample; "
        "reverse KL is KL(p || uniform) of the high-quality samples' mode histogram. Real data "
        "reaches only 1 - exp(-4.5) = 98.9 % high quality. Values are mean ± sample std over "
        "seeds; inf: some seed had no high-quality sample. Published rows come from other "
        "networks and training budgets; s/run (median over seeds, fastest seed in brackets) covers "
        "data, build, fit and scoring.",
    ]
    for dataset, ranked in tables.items():
        lines += ["", f"## {dataset}", "",
                  "| config | description | seeds | G steps | modes covered | % high quality "
                  "| reverse KL | s/run (fastest) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in ranked:
            summary = summaries[row]
            name = f"**{row}** (best)" if row == ranked[0] else row
            steps = "/".join(str(n) for n in summary["generator_steps"])
            lines.append(
                f"| {name} | {summary['description'].replace('|', '/')} | {summary['seeds']} | "
                f"{steps} | {cell(summary['modes_covered'], '.1f')} | "
                f"{cell(summary['high_quality_percent'], '.1f')} | "
                f"{cell(summary['reverse_kl'], '.3f')} | {summary['seconds'][0]:.0f} ({summary['seconds'][1]:.0f}) |"
            )
        for row_dataset, method, source, modes, quality, kl in PUBLISHED:
            if row_dataset == dataset:
                lines.append(f"| {method} (published) | {source} |  |  | {cell(modes, '.1f')} | "
                             f"{cell(quality, '.1f')} | {cell(kl, '.3f')} |  |")
    return "\n".join(lines) + "\n"


def write_outputs(out, runs, summaries, tables, total_seconds, note=None):
    """Writes mode_collapse.md and mode_collapse.json under `out`; returns their paths."""
    os.makedirs(out, exist_ok=True)
    report = os.path.join(out, "mode_collapse.md")
    with open(report, "w", encoding="utf-8") as f:
        f.write(markdown(runs, tables, summaries, total_seconds, note))
    results = {
        "samples": SAMPLES,
        "total_seconds": total_seconds,
        "best": {dataset: ranked[0] for dataset, ranked in tables.items()},
        "runs": [{k: finite_or_none(v) if k == "reverse_kl" else v for k, v in run.items()}
                 for run in runs],
        "summary": {name: {k: [finite_or_none(x) for x in v] if isinstance(v, tuple) else v
                           for k, v in summary.items()}
                    for name, summary in summaries.items()},
    }
    path = os.path.join(out, "mode_collapse.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, allow_nan=False)
    return report, path


def remedy_budget(configs):
    """Each dataset's plain GAN (`gan_<dataset>`) on the budget of its remedy configs (`r1_ema_<dataset>`'s)."""
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel

    return [with_budget_of(config_lib.load(f"gan_{dataset}"), config_lib.load(f"r1_ema_{dataset}"))
            for dataset in sorted({c.data.dataset for c in configs})]


def main(argv=None):
    """Runs the missing runs, then writes the report over all recorded runs; returns 0."""
    parser, args = parse_args(argv)
    # Keras reads the backend once, at its first import.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # pylint: disable=import-outside-toplevel
    from ganzoo import data, plots  # pylint: disable=import-outside-toplevel

    configs = [] if args.dry_run and not args.configs else load_configs(parser, args.configs)
    if args.equal_budget:
        configs = equal_budget(configs)
    if args.remedy_budget:
        configs = remedy_budget(configs)
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        parser.error(f"config names must be unique, got {names}; give each YAML its own name")
    info = machine()
    runs_path = os.path.join(args.out, "mode_collapse_runs.jsonl")
    recorded = [r for r in read_runs(runs_path) if r["backend"] == info["backend"]]
    done = {run_key(r) for r in recorded}
    todo = [(config, seed) for config in configs for seed in range(args.seeds)
            if (config.name, seed, args.steps, info["backend"]) not in done]
    if args.dry_run:
        todo = []
    print(f"mode_collapse: {len(todo)} runs to do ({len(configs) * args.seeds - len(todo)} "
          f"of {len(configs)} configs x {args.seeds} seeds already in {runs_path}) on "
          f"{info['backend']} ({info['cpu']}, {info['cores']} cores)", flush=True)

    for count, (config, seed) in enumerate(todo, 1):
        gan, coverage, seconds = run_once(config, seed, args.steps)
        run = {"config": config.name, "dataset": config.data.dataset,
               "description": config.description, "seed": seed, "steps": args.steps,
               "generator_steps": int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)),
               "seconds": seconds, **info, "date": utc_now(), **coverage.as_dict()}
        append_run(runs_path, run)
        print(f"[{count}/{len(todo)}] {config.name} seed {seed}: "
              f"{coverage.modes_covered}/{coverage.num_modes} modes, "
              f"{100 * coverage.high_quality:.1f} % HQ, KL {coverage.reverse_kl:.3f}, "
              f"{seconds:.1f} s", flush=True)
        if seed == 0:
            plots.scatter_plot(
                gan.generate(SAMPLES, seed=seed),
                os.path.join(args.out, f"mode_collapse_{config.name.replace('@', '_at_')}.png"),
                centers=data.mode_centers(config.data.dataset),
                title=f"{config.name}, seed 0: {coverage.modes_covered}/"
                      f"{coverage.num_modes} modes, {100 * coverage.high_quality:.1f} % HQ",
            )
    # Re-read: other invocations may have appended runs to the same file meanwhile.
    recorded = [r for r in read_runs(runs_path) if r["backend"] == info["backend"]]
    if not recorded:
        parser.error(f"no runs recorded in {runs_path} for {info['backend']}; "
                     "run without --dry-run first")

    rows = {}
    for run in recorded:
        rows.setdefault(row_name(run), []).append(run)
    summaries = {name: {"description": group[0]["description"], **summarize(group)}
                 for name, group in rows.items()}
    tables = rank(recorded, summaries)
    for dataset, ranked in tables.items():
        print(f"best on {dataset}: {ranked[0]} (modes covered, then % high quality, "
              "then lower reverse KL)", flush=True)
    total_seconds = sum(r["seconds"] for r in recorded)
    for path in write_outputs(args.out, recorded, summaries, tables, total_seconds, args.note):
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
