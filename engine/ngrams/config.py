"""The n-gram job's parameters: one validated configuration (``NgramConfig``).

Every check goes through :mod:`engine.params`, so a bad value names the library parameter
(``top must be an integer >= 1, got True``) and the CLI shows its flag (``--top``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from engine import params
from engine.errors import ParameterError
from engine.text import TextOptions

__all__ = ["NgramConfig", "parse_n", "parse_memory", "MAX_N"]

MAX_N = 32
MIN_MEMORY = 1 << 20


def parse_n(spec) -> tuple[int, int]:
    """The orders ``(low, high)`` of ``spec``: ``3`` -> (3, 3); ``"1-3"`` -> (1, 3); ``(1, 3)``.

    Raises
    ------
    ParameterError
        Not an integer, a range or a pair (a bool is none of them), or outside
        ``1 <= low <= high <= MAX_N``.
    """
    if isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = (params.integer("n", v, minimum=1, maximum=MAX_N) for v in spec)
    elif not isinstance(spec, str):   # an int (a bool or a float is refused, with the bounds)
        lo = hi = params.integer("n", spec, minimum=1, maximum=MAX_N)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", spec)
        if not m:
            raise ParameterError(f"n must be an integer or a range like 1-3, got {spec!r}", param="n")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
    if not (1 <= lo <= hi <= MAX_N):
        raise ParameterError(f"n must satisfy 1 <= low <= high <= {MAX_N}, got {spec!r}", param="n")
    return int(lo), int(hi)


def parse_memory(spec) -> int:
    """Bytes of ``spec``: ``"2GB"``, ``"512MB"``, ``1e9``; None: a quarter of the RAM (>= 256 MB)."""
    if spec is None:
        try:
            from engine.memory import total_memory
            total = total_memory()
        except Exception:
            total = 8 << 30
        return max(256 << 20, total // 4)
    must = "a size like 512MB or 4GB"
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        value = int(params.number("memory", spec, minimum=MIN_MEMORY))
    else:
        m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)?\s*", spec, re.I) if isinstance(spec, str) else None
        if not m:
            raise ParameterError(f"memory must be {must}, got {spec!r}", param="memory")
        unit = (m.group(2) or "b").lower().rstrip("b").rstrip("i")
        try:
            size = float(m.group(1))
        except ValueError:   # "1.2.3"
            raise ParameterError(f"memory must be {must}, got {spec!r}", param="memory") from None
        value = int(size * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit])
    if value < MIN_MEMORY:
        raise ParameterError(f"memory must be at least 1MB, got {spec!r}", param="memory")
    return value


@dataclass(frozen=True)
class NgramConfig:
    """What to count and what to keep.

    Parameters
    ----------
    n : the orders: an int, ``(low, high)`` or ``"low-high"``; normalised to ``(low, high)``.
    char : character n-grams of the normalised text instead of word n-grams.
    top : keep the ``top`` most frequent per n (None: all).
    min_count : drop n-grams seen fewer times (applied after the partitions are combined).
    memory : bound on the counting tables (bytes or ``"4GB"``); past it counts spill to disk.
    text : normalisation and token filters.
    """
    n: tuple[int, int] = (1, 1)
    char: bool = False
    top: Optional[int] = None
    min_count: int = 1
    memory: Optional[int] = None
    text: TextOptions = field(default_factory=TextOptions)

    def __post_init__(self):
        # frozen: the normalised values are set through object.__setattr__
        checked = {"n": parse_n(self.n),
                   "char": params.flag("char", self.char),
                   "top": params.integer("top", self.top, minimum=1, optional=True),
                   "min_count": params.integer("min_count", self.min_count, minimum=1),
                   "memory": parse_memory(self.memory)}
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if not isinstance(self.text, TextOptions):
            raise ParameterError(f"text must be a TextOptions, got {self.text!r}", param="text")

    @property
    def orders(self) -> range:
        """The n of every order counted, low to high."""
        return range(self.n[0], self.n[1] + 1)
