"""`ganzoo.training.memory`: freed blocks stay in the process, so reusing them costs no page faults."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting exists on glibc only")

# Frees a 64 MB block and allocates one as large again (in a new thread, as a backend's worker
# would), writing every page; prints the setting's state and the page faults of the second round.
# (malloc itself, not NumPy, which asks for huge pages for large arrays.)
_PROBE = """
import ctypes, resource, threading
from ganzoo.training import memory
applied = memory.keep_freed_memory()
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


def _probe(**env):
    result = subprocess.run([sys.executable, "-c", _PROBE], env={**os.environ, **env}, capture_output=True,
                            text=True, check=True, timeout=120)
    applied, faults = result.stdout.split()
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


@pytest.mark.parametrize("setting, expected", [("1", "True"), ("0", "False")])
def test_importing_the_training_seam_applies_it(setting, expected):
    # In a fresh process: importing the seam alone (no call of keep_freed_memory) sets it.
    code = "from ganzoo.training import memory, step; print(memory._applied)"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "GANZOO_KEEP_FREED_MEMORY": setting},
                            capture_output=True, text=True, check=True, timeout=300)
    assert result.stdout.split()[-1] == expected
