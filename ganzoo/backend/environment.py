"""The backend package's switches in the environment, read without importing Keras.

The `ganzoo` command checks them before Keras loads, so a bad value is one
line and exit status 2; `ganzoo.backend.kernels` reads the same function.
"""

import os

KERNEL_MODES = ("auto", "keras")
KERNELS_VARIABLE = "GANZOO_KERNELS"


def kernel_mode():
    """``GANZOO_KERNELS``: "auto" (the default) or "keras".

    Raises:
        ValueError: for any other value, in one line naming the fix.
    """
    mode = os.environ.get(KERNELS_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in KERNEL_MODES:
        raise ValueError(f"{KERNELS_VARIABLE}={mode!r} is not a kernel mode; set it to 'auto' or 'keras'.")
    return mode
