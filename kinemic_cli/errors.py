"""The one exception type the CLI turns into a one-line ``Error: ...`` message."""

from __future__ import annotations


class KinemicError(Exception):
    """A problem the user can fix (bad input, missing file, wrong option).

    The message is a single line that names the file or option and the problem; the CLI
    prints it without a traceback (unless ``--debug``) and exits with status 1.
    """
