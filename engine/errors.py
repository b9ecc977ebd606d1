"""Errors shared by the engine's layers (kept apart so that the reader, the text layer and
the CLI can all raise or catch them without importing one another)."""
from __future__ import annotations

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A bad parameter: the message names it, what it must be, and what was given.

    ``param`` is the library's name of the parameter (``perms``), when the message starts
    with it: the CLI shows the flag (``--perms``) in its place.
    """

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param

    def for_flag(self, flag: str | None = None) -> str:
        """The message with the parameter's name replaced by ``flag`` (default ``--name-with-dashes``)."""
        msg = str(self)
        if not self.param or not msg.startswith(self.param):
            return msg
        return (flag or "--" + self.param.replace("_", "-")) + msg[len(self.param):]
