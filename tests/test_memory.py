"""`ganzoo.backend.memory`: freed blocks stay in the process, so reusing them costs no page faults.

The setting is the `ganzoo` command's and an explicit call's: importing ganzoo leaves malloc alone.
"""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting exists on glibc only"),
    # Processes and malloc, no Keras backend code: one pass, torch's (the shortest), for the time budget.
    pytest.mark.skipif(os.environ.get("KERAS_BACKEND") != "torch", reason="backend-neutral: run on torch"),
]

# Frees a 64 MB block and allocates one as large again (in a new thread, as a backend's worker
# would), writing every page; prints the setting's state and the page faults of the second round.
# (malloc itself, not NumPy, which asks for huge pages for large arrays.)
_PROBE = """
import ctypes, resource, threading
from ganzoo.backend import memory
{prelude}
applied = memory._applied
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
size = 64 << 20
def touched_block():
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    return block
libc.free(touched_block())
faults = []
def second_round():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = touched_block()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    libc.free(block)
thread = threading.Thread(target=second_round)
thread.start()
thread.join()
print(applied, faults[0])
"""


def _probe(prelude="memory.keep_freed_memory()", **env):
    """(whether the setting is in force, page faults of reusing a freed 64 MB block) after `prelude`."""
    result = subprocess.run([sys.executable, "-c", _PROBE.format(prelude=prelude)], env={**os.environ, **env},
                            capture_output=True, text=True, check=True, timeout=300)
    applied, faults = result.stdout.split()[-2:]
    return applied == "True", int(faults)


def test_a_freed_block_is_reused_without_page_faults():
    applied, faults = _probe()
    assert applied
    # 64 MB is 16 384 pages of 4 KB; reused heap memory faults on almost none of them.
    assert faults < 1000, faults


def test_the_setting_can_be_turned_off():
    applied, faults = _probe(GANZOO_KEEP_FREED_MEMORY="0")
    assert not applied
    # glibc's default: a block this large comes from mmap, and every page faults again.
    assert faults > 10000, faults


def test_importing_ganzoo_leaves_malloc_alone():
    # A notebook or service that imports the models to sample keeps glibc's defaults.
    applied, faults = _probe("import ganzoo, ganzoo.models, ganzoo.layers")
    assert not applied
    assert faults > 10000, faults


@pytest.mark.parametrize("command, applies", [("train", True), ("export", True), ("list", False)])
def test_the_ganzoo_command_applies_it_for_long_runs(command, applies):
    # The command applies the setting before loading anything: here its input is missing (exit 2).
    args = {"train": ["train", "no_such_config"], "export": ["export", "no_such_run", "--out", "no_such_out"], "list": ["list"]}[command]
    applied, faults = _probe(f"from ganzoo import cli; print(cli.main({args!r}))")
    assert applied is applies
    assert (faults < 1000) is applies, faults
