"""Shared timing helpers of `benchmarks/train_step.py` and its peer loops.

Every contender runs in its own process, records `time.perf_counter()` after
each training step (after the step's result is on the host), and reports the
timestamps; steps/s is the median over windows of consecutive steps after a
warm-up, so compilation and the first allocations are never timed.
"""

import json
import statistics
import sys


def window_rates(stamps, *, warmup, window):
    """Steps/s of each full `window`-step window after the first `warmup` steps.

    `stamps[i]` is the time step i ended; `stamps[warmup - 1]` starts the first
    window (so `warmup` must be >= 1).
    """
    rates = []
    start = warmup - 1
    while start + window < len(stamps):
        rates.append(window / (stamps[start + window] - stamps[start]))
        start += window
    return rates


def report(name, stamps, *, warmup, window, **extra):
    """Prints one JSON line with the median steps/s and every window's rate."""
    rates = window_rates(stamps, warmup=warmup, window=window)
    print(json.dumps({
        "name": name,
        "steps_per_second": statistics.median(rates),
        "window_rates": rates,
        **extra,
    }), flush=True)


# Steps per process: warm-up, then `windows` timed windows of `window` steps; the batch size.
DEFAULTS = {"warmup": 4, "windows": 4, "window": 6, "batch": 128}
# The batch-size / image-size sweep: fewer, shorter windows (its big batches are slow).
SCALING = {"warmup": 2, "windows": 3, "window": 3}


def parse_args(argv=None):
    """`[--warmup W] [--windows K] [--window S] [--batch B]` over `DEFAULTS`, as a dict of ints."""
    argv = sys.argv[1:] if argv is None else argv
    args = dict(DEFAULTS)
    for flag, value in zip(argv[::2], argv[1::2]):
        args[flag.lstrip("-")] = int(value)
    return args
