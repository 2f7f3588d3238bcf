"""Shared bookkeeping of the resumable benchmarks (mode collapse, anomaly, augmentation).

Each benchmark appends one JSON line per finished run to a ``*_runs.jsonl``
file under ``benchmarks/results`` and rebuilds its report from every line, so
an interrupted run resumes where it stopped and several invocations (or
processes, each on its own share of the work) feed one report.
"""

import datetime
import json
import math
import os
import platform
import subprocess

import numpy as np


def finite_or_none(value):
    """JSON has no infinity: a non-finite float is recorded as null (a run without high-quality samples, say)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_runs(path):
    """The runs recorded in a JSON-lines file (none if it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def append_run(path, run):
    """Appends one finished run as one line (one write, flushed to disk at once)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    line = json.dumps({k: finite_or_none(v) for k, v in run.items()}) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def mean_std(values):
    """Mean and sample standard deviation (0 for one value); (inf, nan) if any value is not finite."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return math.inf, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def utc_now():
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def machine():
    """Describes the CPU, cores and library versions the benchmark ran with."""
    import keras  # pylint: disable=import-outside-toplevel

    cpu = platform.processor()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                    if line.startswith("Model name")), cpu)
    except (OSError, subprocess.CalledProcessError):
        pass  # lscpu is Linux-only; platform.processor() is the fallback
    return {
        "cpu": cpu or "unknown",
        "cores": cores,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
    }
