"""Writing a file so that a crash never leaves it half-written."""

from __future__ import annotations

import os
import tempfile

__all__ = ["write_atomically", "write_text_atomically"]


def write_atomically(path, write) -> None:
    """Calls ``write(tmp)`` on a temporary file beside `path`, then renames it into place.

    The file gets mode 0644 (``mkstemp`` makes owner-only files), and no
    temporary file is left behind when `write` fails.
    """
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomically(path, text: str) -> None:
    """`write_atomically` for a UTF-8 text."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    write_atomically(path, write)
