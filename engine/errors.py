"""Errors shared by the engine's layers (kept apart so that the reader, the text layer and
the CLI can all raise or catch them without importing one another)."""
from __future__ import annotations

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A bad parameter: the message names it, what it must be, and what was given."""
