"""The one error type of `ganzoo.export`."""


class ExportError(RuntimeError):
    """An export that could not be made, or that disagrees with its Keras generator.

    The message is one line; nothing has been written to the output directory.
    """


def one_line(error):
    """The first line of an exception's message, prefixed with its type unless an ExportError."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(error, ExportError):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
