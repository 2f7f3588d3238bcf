"""The single exception type raised for user-facing data problems."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset could not be found, read or served as asked.

    The message is always a single line (any newlines or runs of whitespace in
    the text are collapsed) so that it reads cleanly in logs and CLI output. It
    says what was given, what was expected and how to fix it.
    """

    def __init__(self, message: str) -> None:
        """Creates the error.

        Args:
            message: Human-readable explanation; whitespace is collapsed so the
                final message is one line.
        """
        # Collapsing whitespace guarantees the one-line contract even when the
        # text embeds a multi-line message from a third-party library.
        super().__init__(" ".join(str(message).split()))
