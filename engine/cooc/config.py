"""Parameters of the co-occurrence job (:class:`CoocConfig`) and its tuning constants.

The constants are read through this module at call time (``config.DENSE_TERMS``), so a
test can narrow them with ``monkeypatch.setattr(engine.cooc.config, ...)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine import params
from engine.errors import ParameterError
from engine.text import TextOptions
from kernels.constants import LOW32  # noqa: F401  (C.LOW32: used as such by engine.cooc.backends)

__all__ = ["CoocConfig", "parse_window", "MEASURES", "WEIGHTINGS", "MAX_HARMONIC_WINDOW"]

MEASURES = ("count", "pmi", "ppmi", "npmi", "llr")
WEIGHTINGS = ("none", "harmonic")
MAX_HARMONIC_WINDOW = 20   # lcm(1..20) = 232792560 keeps integer weight sums far from 2**63
INITIAL_TYPE_CAP = 1 << 16   # slots; tables double as they fill
DENSE_TERMS = 1024           # pairs of the 1024 most frequent terms: dense block per thread (4 MB used)
REST_CAP = 1 << 25           # pairs outside the dense block per reduction round (uint32 keys: 128 MB)
INITIAL_POOL = 1 << 20       # bytes of term spellings per table part; doubles as it fills
FUSED_MIN_BYTES = 1 << 20    # batches smaller than this take one part (thread) in text_types
BYTES_PER_TOKEN = 4          # text_types output: room for 1 token per 4 bytes (+ OUT_SLACK), then doubles
OUT_SLACK = 4096


def parse_window(value, name: str = "window") -> int | str:
    """Check a window parameter.

    Parameters
    ----------
    value : int or str
        A positive integer, its digits, or ``"doc"``.
    name : str, optional
        The parameter's name in errors.

    Returns
    -------
    int or str
        The window, or ``"doc"``.

    Raises
    ------
    ParameterError
        Anything else.
    """
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "doc":
            return "doc"
        try:
            value = int(v)
        except ValueError:
            pass
    try:
        return params.integer(name, value, minimum=1)
    except ParameterError:
        raise ParameterError(f"{name} must be a positive integer or 'doc', got {value!r}",
                             param=name) from None


@dataclass(frozen=True)
class CoocConfig:
    """Parameters of the co-occurrence job (validated on creation, by :mod:`engine.params`).

    Parameters
    ----------
    window : int or str
        Positive int (token window) or ``"doc"`` (document co-occurrence).
    weighting : str
        ``"none"`` (w = 1) or ``"harmonic"`` (w = 1/distance; window <= 20).
    min_count, max_vocab : int
        Vocabulary pruning (term frequency, ties by term).
    measure : str
        Sort key of the tables: count, pmi, ppmi, npmi or llr.
    text : TextOptions
        Tokenisation options (stop words, accents, minimum token length).
    cache_bytes : int
        Per-token type numbers kept in memory between the vocabulary pass and the pair
        pass; beyond this they are spilled to a temporary folder.

    Raises
    ------
    ParameterError
        A parameter out of range, named by its library name.
    """
    window: int | str = 5
    weighting: str = "none"
    min_count: int = 2
    max_vocab: int = 50000
    measure: str = "llr"
    text: TextOptions = field(default_factory=TextOptions)
    cache_bytes: int = 512 << 20

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "window", parse_window(self.window))
        set_(self, "weighting", params.choice("weighting", self.weighting, WEIGHTINGS))
        set_(self, "measure", params.choice("measure", self.measure, MEASURES))
        set_(self, "min_count", params.integer("min_count", self.min_count, minimum=1))
        set_(self, "max_vocab", params.integer("max_vocab", self.max_vocab, minimum=1))
        set_(self, "cache_bytes", params.integer("cache_bytes", self.cache_bytes, minimum=0))
        if not isinstance(self.text, TextOptions):
            raise ParameterError(f"text must be a TextOptions, got {self.text!r}", param="text")
        if self.weighting == "harmonic":
            if self.window == "doc":
                raise ParameterError("weighting must be 'none' with window 'doc' (harmonic weights need a "
                                     "token window), got 'harmonic'", param="weighting")
            params.integer("window", self.window, minimum=1, maximum=MAX_HARMONIC_WINDOW)

    @property
    def doc_mode(self) -> bool:
        """Whether pairs are document co-occurrences (``window == "doc"``)."""
        return self.window == "doc"

    def weights(self) -> tuple[np.ndarray, int]:
        """The integer weights of a token window.

        Returns
        -------
        table : ndarray of int64, shape (W + 1,)
            ``table[d]`` for a pair at distance ``d`` (``table[0]`` unused).
        divisor : int
            1, or ``lcm(1..W)`` with harmonic weights: w(d) = table[d] / divisor exactly.
        """
        w = self.window
        if self.weighting == "none":
            return np.ones(w + 1, np.int64), 1
        lcm = math.lcm(*range(1, w + 1))
        return np.array([0] + [lcm // d for d in range(1, w + 1)], np.int64), lcm
