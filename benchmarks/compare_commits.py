"""No-regression check: ganzoo's DCGAN training step at two commits, timed alternately in one run.

Each side is a git ref (checked out as a detached ``git worktree`` in a temporary
folder, removed at the end) or a directory used as it is, and runs its own tree's
``benchmarks/train_step.py --worker ganzoo`` (``fit`` on ``dcgan_fashion_mnist``)
with ``cwd`` and ``PYTHONPATH`` set to that tree. Each round runs, per backend,
both sides one after the other, swapping which goes first every round; a round's
ratio is after/before in steps/s; a backend passes when the median ratio is >=
``--threshold`` (0.95).

First a probe runs each side's worker once under an audit hook on the
``mallopt`` look-up: where glibc's setting (`keep_freed_memory`) takes effect
(which of Keras and its backends were imported then, how many OS threads), and
that every ganzoo module came from that side's tree. With ``--memory auto`` (the
default) a side whose worker applies it late (or never) runs through a wrapper
that calls its tree's own ``keep_freed_memory()`` first, then the same worker.

Usage (repo root, Fashion-MNIST installed: ``make data``)::

    python benchmarks/compare_commits.py --before 70a12fd --after . \\
        [--backends tensorflow jax torch] [--rounds 5] [--out benchmarks/results]

It writes ``compare_commits.json`` and ``compare_commits.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "benchmarks", "results")
BACKENDS = ("tensorflow", "jax", "torch")
TIMING_DEFAULTS = {"warmup": 4, "windows": 4, "window": 6, "batch": 128}  # benchmarks/_timing.DEFAULTS
PROBE_TIMING = {"warmup": 1, "windows": 1, "window": 1, "batch": 128}
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist", "~/.keras/datasets/fashion-mnist")
FRAMEWORKS = ("keras", "tensorflow", "jax", "torch")
RECORDED_ENV = ("XLA_FLAGS", "OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS",
                "TF_ENABLE_ONEDNN_OPTS", "GANZOO_KEEP_FREED_MEMORY", "GANZOO_KERNELS", "MALLOC_ARENA_MAX",
                "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "JAX_COMPILATION_CACHE_DIR")

# `python -c LAUNCHER script args...`: the tree's own glibc setting first, then its worker, unchanged.
LAUNCHER = """import importlib, os, runpy, sys
new = os.path.isfile(os.path.join("ganzoo", "backend", "memory.py"))  # cwd is the tree
importlib.import_module("ganzoo.backend.memory" if new else "ganzoo.training.memory").keep_freed_memory()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

# `python -c PROBE early script args...`: the worker under an audit hook; then where the setting took effect.
PROBE = """import json, os, runpy, sys
state = {"at_apply": None}
def hook(event, args):  # os.listdir's own audit event comes back here and returns
    if event == "ctypes.dlsym" and args[1:2] == ("mallopt",) and state["at_apply"] is None:
        state["at_apply"] = {"frameworks_imported": [m for m in %r if m in sys.modules],
                             "os_threads": len(os.listdir("/proc/self/task"))}
sys.addaudithook(hook)
try:
    if sys.argv[1] == "1":
        exec(%r)
    else:
        sys.argv = sys.argv[2:]
        runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit_:
    if exit_.code:
        raise
mod = sys.modules.get("ganzoo.backend.memory") or sys.modules.get("ganzoo.training.memory")
files = {n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n == "ganzoo" or n.startswith("ganzoo.")}
print(json.dumps({"probe": True, "ganzoo_file": files.get("ganzoo"), "memory_module": getattr(mod, "__name__", None),
                  "applied": getattr(mod, "_applied", None), "at_apply": state["at_apply"], "modules": files}))
""" % (FRAMEWORKS, LAUNCHER.replace("sys.argv[1:]", "sys.argv[2:]"))


# ------------------------------------------------------------------ pure parts
def round_order(round_index):
    """The order the two sides run in round `round_index` (0-based): before first in even rounds."""
    return ("before", "after") if round_index % 2 == 0 else ("after", "before")


def summarize(runs, backends, threshold=0.95):
    """Per backend: each side's median steps/s, the per-round ratios after/before, their median and verdict.

    Args:
        runs: Dicts with "round", "backend", "side" ("before"/"after") and "steps_per_second".
        backends: The backends to summarize, in report order.
        threshold: The lowest median ratio that passes.

    Returns:
        {backend: {"before", "after" (median steps/s), "ratios", "median_ratio", "min_ratio",
        "max_ratio", "pass"}}.
    """
    summary = {}
    for backend in backends:
        by_round = {}
        for run in runs:
            if run["backend"] == backend:
                by_round.setdefault(run["round"], {})[run["side"]] = run["steps_per_second"]
        pairs = [by_round[r] for r in sorted(by_round) if {"before", "after"} <= set(by_round[r])]
        if not pairs:
            raise ValueError(f"no complete round for backend {backend!r}")
        ratios = [pair["after"] / pair["before"] for pair in pairs]
        summary[backend] = {side: statistics.median(pair[side] for pair in pairs) for side in ("before", "after")}
        summary[backend].update({"ratios": ratios, "median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
                                 "max_ratio": max(ratios), "pass": statistics.median(ratios) >= threshold})
    return summary


def table(summary, threshold=0.95):
    """The results as a markdown table, one row per backend."""
    lines = ["| backend | before steps/s | after steps/s | per-round ratios (after/before) | median ratio "
             "| min-max | verdict |", "|---|---:|---:|---|---:|---:|---|"]
    for backend, s in summary.items():
        verdict = f"pass (>= {threshold})" if s["pass"] else f"FAIL (< {threshold})"
        lines.append(f"| {backend} | {s['before']:.3f} | {s['after']:.3f} | "
                     f"{', '.join(f'{r:.3f}' for r in s['ratios'])} | **{s['median_ratio']:.3f}** | "
                     f"{s['min_ratio']:.3f}-{s['max_ratio']:.3f} | {verdict} |")
    return "\n".join(lines)


def describe_memory(probe):
    """One line on where a side's worker applied the glibc setting, from its probe."""
    if not probe.get("applied"):
        return "NOT applied (`keep_freed_memory()` returned False or was never called)"
    at = probe["at_apply"] or {}
    before = ", ".join(at.get("frameworks_imported", [])) or "none of keras/tensorflow/jax/torch"
    return f"applied; imported before it: {before}; OS threads then: {at.get('os_threads')}"


def applied_early(probe):
    """Whether the probe saw the glibc setting in force before Keras or a backend was imported."""
    return bool(probe.get("applied")) and not (probe.get("at_apply") or {}).get("frameworks_imported", True)


def markdown(report):
    """The results file: what was measured, where, when, both sides, how, and the table."""
    t, cpu = report["timing"], report["machine"]
    lines = [
        "# No speed regression: DCGAN training step, before and after",
        "",
        f"Run {report['started_utc']} - {report['finished_utc']} UTC ({report['wall_s'] / 60:.1f} min) on "
        f"{cpu['model']}, {cpu['cores']} cores; Python {report['python']}; "
        + ", ".join(f"{k} {v}" for k, v in report["packages"].items()) + ".",
        "",
        "Measured: `benchmarks/train_step.py --worker ganzoo` of each side's own tree (cwd and PYTHONPATH "
        f"= the tree), `fit` on `dcgan_fashion_mnist`, batch {t['batch']}: steps/s is the median of "
        f"{t['windows']} windows of {t['window']} steps after {t['warmup']} warm-up step(s). "
        f"{report['rounds']} round(s); in each, per backend, the two sides run one after the other, "
        "before first in even rounds (0, 2, ...) and after first in odd ones. A round's ratio is "
        f"after/before; a backend passes when the median ratio is >= {report['threshold']}. Before timing, "
        "each side's worker ran once under a probe (an audit hook on the `mallopt` look-up) that found where "
        "it applies the glibc setting and checked that every ganzoo module it imported came from its own tree.",
        "",
        "| side | given as | tree | commit | glibc setting (probe), per backend | launched |",
        "|---|---|---|---|---|---|",
    ]
    for name, side in ((name, report["sides"][name]) for name in ("before", "after")):
        lines.append(f"| {name} | `{side['spec']}` | `{side['path']}` | {side['commit_text']} | "
                     + "; ".join(f"{b}: {describe_memory(p)}" for b, p in side["probes"].items()) + " | "
                     + "; ".join(f"{b}: {how}" for b, how in side["launch"].items()) + " |")
    failed = [backend for backend, s in report["summary"].items() if not s["pass"]]
    lines += ["", table(report["summary"], report["threshold"]), "",
              f"**Verdict: REGRESSION on {', '.join(failed)}** (median per-round ratio < {report['threshold']})."
              if failed else f"**Verdict: no regression** (median per-round ratio >= {report['threshold']} on every "
              "backend).", "",
              f"Environment variables set: {report['env'] or 'none of ' + ', '.join(RECORDED_ENV)}.", "",
              f"Command: `{report['command']}`", ""]
    return "\n".join(lines)


def parse_args(argv=None):
    """The command line; errors (exit 2) on rounds, timing or backends out of range."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git ref or directory of the commit before")
    parser.add_argument("--after", required=True, help="git ref or directory of the commit after")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--memory", choices=("auto", "as-is"), default="auto",
                        help="auto: a side whose worker applies the glibc setting after Keras is imported "
                             "applies its tree's setting first")
    parser.add_argument("--repo", default=ROOT, help="git repository that refs are resolved in")
    for key, value in TIMING_DEFAULTS.items():
        parser.add_argument(f"--{key}", type=int, default=value, help=f"worker's --{key} (default {value})")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    for key in TIMING_DEFAULTS:
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be >= 1, got {getattr(args, key)}")
    if len(set(args.backends)) != len(args.backends):
        parser.error(f"--backends repeats a backend: {' '.join(args.backends)}")
    if not 0 < args.threshold <= 2:  # a ratio: 0.95 means "at most 5 % slower"
        parser.error(f"--threshold must be in (0, 2], got {args.threshold}")
    return args


# ------------------------------------------------------------------ git, data, machine
def _git(*args, cwd):
    """Output of `git args` in `cwd`, stripped; raises RuntimeError on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve_side(spec, repo, tmp):
    """A side's tree: a directory as is, or a ref checked out as a detached worktree under `tmp`.

    Returns:
        {"spec", "path", "commit", "dirty", "worktree", "commit_text"}.
    """
    if os.path.isdir(spec):
        path = os.path.abspath(spec)
        try:
            commit = _git("rev-parse", "HEAD", cwd=path)
            dirty = bool(_git("status", "--porcelain", cwd=path))
        except RuntimeError:
            commit, dirty = None, None
        text = f"`{commit[:12]}`" + (" with uncommitted changes" if dirty else "") if commit else "not a git tree"
        return {"spec": spec, "path": path, "commit": commit, "dirty": dirty, "worktree": False, "commit_text": text}
    commit = _git("rev-parse", "--verify", f"{spec}^{{commit}}", cwd=repo)
    path = os.path.join(tmp, commit[:12])
    if not os.path.isdir(path):  # the same commit on both sides: one checkout
        _git("worktree", "add", "--detach", path, commit, cwd=repo)
    return {"spec": spec, "path": path, "commit": commit, "dirty": False, "worktree": True,
            "commit_text": f"`{commit[:12]}`"}


def fashion_mnist_dir():
    """The first folder holding Fashion-MNIST's training images, as ganzoo searches, or None."""
    env = os.environ.get("GANZOO_DATA")  # then ganzoo.data.idx's own search folders
    dirs = ([env, os.path.join(env, "fashion-mnist")] if env else []) + [os.path.expanduser(d) for d in SYSTEM_DIRS]
    return next((folder for folder in dirs if any(
        os.path.isfile(os.path.join(folder, f"train-images-idx3-ubyte{gz}")) for gz in ("", ".gz"))), None)


def machine():
    """The CPU: `train_step.cpu_facts()` where importable, else its name and core count."""
    try:
        sys.path.insert(0, ROOT)
        from benchmarks.train_step import cpu_facts  # pylint: disable=import-outside-toplevel
        return cpu_facts()
    except Exception:  # pylint: disable=broad-except  (a train_step without it, or no /proc)
        return {"model": platform.processor(), "cores": os.cpu_count()}


def packages():
    """Installed versions of the libraries both sides share (one interpreter)."""
    names = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "numpy")
    found = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in importlib.metadata.distributions()}
    return {name: found[name] for name in names if name in found}


# ------------------------------------------------------------------ workers
def worker_command(tree, timing, memory_first):
    """argv of a side's worker: its tree's train_step.py, through the LAUNCHER when `memory_first`."""
    script = os.path.join(tree, "benchmarks", "train_step.py")
    flags = [f for key, value in timing.items() for f in (f"--{key}", str(value))]
    return [sys.executable, *(["-c", LAUNCHER] if memory_first else []), script, "--worker", "ganzoo", *flags]


def _run_json(argv, tree, backend):
    """Runs `argv` in `tree` with its backend and returns the last JSON line it printed."""
    env = {**os.environ, "PYTHONPATH": tree, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{' '.join(argv[-8:])} in {tree} ({backend}) failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def probe(tree, backend, memory_first):
    """The side's worker run once with tiny timing under PROBE: where it applies glibc's setting, whose ganzoo.

    Raises:
        RuntimeError: If a ganzoo module it imported is not from `tree` (an editable install of ganzoo
            in the virtual environment serves a module that a tree lacks from the install's tree).
    """
    argv = [sys.executable, "-c", PROBE, "1" if memory_first else "0", *worker_command(tree, PROBE_TIMING, False)[1:]]
    result = _run_json(argv, tree, backend)
    prefix = os.path.realpath(tree) + os.sep
    foreign = {name: path for name, path in result.pop("modules").items()
               if path and not os.path.realpath(path).startswith(prefix)}
    if not result["ganzoo_file"] or foreign:
        raise RuntimeError(f"the worker in {tree} ({backend}) imported ganzoo from elsewhere: {foreign or 'none'}")
    return result


def time_worker(tree, backend, timing, memory_first):
    """One timed run of a side's worker: its JSON (steps_per_second, window_rates, backend, ...)."""
    start = time.perf_counter()
    result = _run_json(worker_command(tree, timing, memory_first), tree, backend)
    result["process_wall_s"] = time.perf_counter() - start
    if result.get("backend") not in (None, backend):
        raise RuntimeError(f"asked for {backend}, the worker in {tree} ran {result['backend']}")
    return result


def measure(sides, backends, rounds, runner, log=print):
    """Runs `runner(side_name, backend)` -> steps/s for every round, backend and side in the alternating order.

    Returns:
        The runs: {"round", "backend", "side", "steps_per_second", ...the runner's other fields}.
    """
    runs = []
    for index in range(rounds):
        for backend in backends:
            for side in round_order(index):
                result = runner(side, backend)
                runs.append({"round": index, "backend": backend, "side": side, **result})
                log(f"round {index + 1}/{rounds} {backend:10s} {side:6s} {result['steps_per_second']:.3f} steps/s "
                    f"({sides[side]['commit_text']}; process {result.get('process_wall_s', 0):.0f} s)")
    return runs


# ------------------------------------------------------------------ main
def probe_side(name, side, backends, memory_mode):
    """Probes `side`'s worker on each backend; with `memory_mode` "auto", wraps the ones that apply it late."""
    side["probes"], side["launch"], side["memory_first"] = {}, {}, {}
    for backend in backends:
        found = probe(side["path"], backend, False)
        early = memory_mode == "auto" and not applied_early(found)
        if early:
            found = {**probe(side["path"], backend, True), "worker_alone": found}
        side["probes"][backend], side["memory_first"][backend] = found, early
        side["launch"][backend] = "wrapper: the tree's keep_freed_memory(), then the worker" if early else "as is"
        print(f"{name} {backend}: ganzoo {found['ganzoo_file']}; glibc setting {describe_memory(found)}"
              + (f" (worker alone: {describe_memory(found['worker_alone'])})" if early else ""), flush=True)


def main(argv=None):
    """Resolves both sides, probes them, times them alternately and writes the report."""
    args = parse_args(argv)
    folder = fashion_mnist_dir()
    if folder is None:
        sys.exit("compare_commits: Fashion-MNIST not found (GANZOO_DATA, /usr/share/datasets/fashion-mnist, "
                 "~/.keras/datasets/fashion-mnist); install it with `make data`")
    timing, sides = {key: getattr(args, key) for key in TIMING_DEFAULTS}, {}
    tmp = tempfile.mkdtemp(prefix="ganzoo-compare-")
    started, wall_start = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
    try:
        for name in ("before", "after"):
            try:
                sides[name] = resolve_side(getattr(args, name), args.repo, tmp)
            except RuntimeError as error:
                sys.exit(f"compare_commits: --{name} {getattr(args, name)!r} is neither a directory nor a ref: {error}")
            if not os.path.isfile(os.path.join(sides[name]["path"], "benchmarks", "train_step.py")):
                sys.exit(f"compare_commits: {sides[name]['path']} has no benchmarks/train_step.py")
        for name, side in sides.items():
            probe_side(name, side, args.backends, args.memory)
        runs = measure(sides, args.backends, args.rounds, lambda name, backend: time_worker(
            sides[name]["path"], backend, timing, sides[name]["memory_first"][backend]),
                       log=lambda line: print(line, flush=True))
    finally:
        for side in sides.values():
            if side["worktree"]:
                subprocess.run(["git", "worktree", "remove", "--force", side["path"]], cwd=args.repo,
                               capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    for name, side in sides.items():  # a directory's HEAD or changes may move during the run: say so
        now = resolve_side(side["path"], args.repo, tmp) if not side["worktree"] else side
        if (now["commit"], now["dirty"]) != (side["commit"], side["dirty"]):
            side["commit_text"] += f" at the start; {now['commit_text']} at the end"
        side["worker_reports_setting"] = any("memory" in key or "malloc" in key
                                             for run in runs if run["side"] == name for key in run)
    summary = summarize(runs, args.backends, args.threshold)
    report = {
        "started_utc": started.strftime("%Y-%m-%d %H:%M:%S"),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "wall_s": time.perf_counter() - wall_start, "machine": machine(), "python": platform.python_version(),
        "executable": sys.executable, "packages": packages(), "fashion_mnist": folder,
        "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ},
        "command": " ".join(["python", "benchmarks/compare_commits.py", *(sys.argv[1:] if argv is None else argv)]),
        "timing": timing, "rounds": args.rounds, "threshold": args.threshold, "memory": args.memory,
        "sides": sides, "runs": runs, "summary": summary,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare_commits.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, "compare_commits.md"), "w", encoding="utf-8") as f:
        f.write(markdown(report))
    print("\n" + table(summary, args.threshold) + f"\n\nwrote {args.out}/compare_commits.{{json,md}}", flush=True)
    return 0 if all(s["pass"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
