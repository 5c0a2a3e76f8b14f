"""User-facing errors.

Anything a user can cause (a bad file, a wrong flag, a damaged checkpoint) raises
:class:`WavesrError` with a one-line message that names the file and the problem. The CLI
prints that line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class WavesrError(Exception):
    """A problem with the user's input or environment, explained in one line."""
