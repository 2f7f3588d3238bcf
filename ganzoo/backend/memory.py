"""Keeps freed memory inside the process during training (glibc only).

A training step allocates the same large buffers every time: activations,
gradients, and on JAX one temporary buffer for the whole compiled step (about
185 MB for the Fashion-MNIST DCGAN at batch 128). glibc's `malloc` serves
blocks above its mmap threshold (128 KB to 32 MB, adjusted as it goes), and
any block a worker thread's arena cannot hold, straight from the kernel with
`mmap`, and gives them back with `munmap` when they are freed. The next step
then page-faults every page of them again, and the kernel zeroes each one.
Measured on 2 cores (`benchmarks/train_step.py`'s worker, minor faults per
step from `getrusage`): JAX ~49 000 faults and ~85 ms of system time per
step, PyTorch ~8 800 faults and ~15 ms; TensorFlow's own allocator already
keeps its memory (7 faults).

`keep_freed_memory()` tells glibc, through `mallopt`, to serve every block
from the main heap (one arena, no `mmap`) and never to trim the heap's top,
so a step reuses the memory the step before it freed. The cost is that the
process keeps its peak heap until it exits, which is what a training process
wants and a notebook or web service that imports ganzoo to sample may not:
importing ganzoo never applies it. The ``ganzoo`` command applies it for
``train``, ``evaluate`` and ``export``, before it imports Keras, unless
``GANZOO_KEEP_FREED_MEMORY=0`` is set; in Python, call `keep_freed_memory()`
first thing, before importing Keras. Off glibc (musl, macOS, Windows) it does
nothing. One arena only helps threads that have not allocated yet: on JAX,
call it before running JAX computations, or XLA's worker threads keep their
own arenas and the step's temporary buffer its `mmap`.
"""

import ctypes
import ctypes.util
import os
import platform

# (mallopt option of glibc's <malloc.h>, value, the same setting as glibc's environment variable)
SETTINGS = (
    (-8, 1, "MALLOC_ARENA_MAX"),  # M_ARENA_MAX: every thread allocates from the main heap
    (-4, 0, "MALLOC_MMAP_MAX_"),  # M_MMAP_MAX: no block comes from mmap
    (-1, (1 << 31) - 1, "MALLOC_TRIM_THRESHOLD_"),  # M_TRIM_THRESHOLD (an int): never shrink the heap
    (-2, 64 << 20, "MALLOC_TOP_PAD_"),  # M_TOP_PAD: grow the heap 64 MB at a time
)

_applied = None


def keep_freed_memory():
    """Applies the glibc settings above once per process; returns whether they are in force.

    Returns False (and changes nothing) off glibc, when
    ``GANZOO_KEEP_FREED_MEMORY=0``, or when `mallopt` refuses a setting.
    """
    global _applied  # pylint: disable=global-statement
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("GANZOO_KEEP_FREED_MEMORY", "1") == "0" or platform.libc_ver()[0] != "glibc":
        return _applied
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _applied
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _applied = all(mallopt(option, value) == 1 for option, value, _ in SETTINGS)
    return _applied
