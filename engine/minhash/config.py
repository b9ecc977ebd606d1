"""MinHash parameters: the shingle spec, the LSH (bands, rows) choice, the permutations.

:class:`MinHashConfig` is validated on construction with :mod:`engine.params`: a bad value
raises :class:`engine.errors.ParameterError` naming the library parameter (``perms must be
an integer >= 1 and <= 4096, got 0``); the CLI shows the flag in its place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engine import params
from engine.errors import ParameterError
from engine.text import TextOptions

__all__ = ["MinHashConfig", "parse_shingle", "optimal_lsh_params", "permutations",
           "FAMILY", "MAX_SIMILARITY_DOCS", "FP_WEIGHT", "FN_WEIGHT", "FORMAT_VERSION"]

FAMILY = "affine32"
MAX_SIMILARITY_DOCS = 2000
MAX_PERMS = 4096
MAX_SHINGLE_N = 64
# LSH weights of the false-positive and false-negative areas.  Verification
# removes false positives at the cost of one exact Jaccard each, while a false
# negative is a near-duplicate lost for good, so misses weigh 9x more than
# datasketch's default (0.5, 0.5): at threshold 0.8 with 128 permutations that
# is 14 x 9 (a pair at J = 0.85 is a candidate with probability 0.975) instead of
# 9 x 13 (0.69).
FP_WEIGHT = 0.1
FN_WEIGHT = 0.9
FORMAT_VERSION = 1
_META_KEY = b"corpus_engine.minhash"


def parse_shingle(spec: str) -> tuple[str, int]:
    """``"word:5"`` -> ("word", 5); ``"char:5"`` -> ("char", 5).

    Raises
    ------
    ParameterError
        ``shingle must be word:N or char:N with N an integer >= 1 and <= 64, got 'word'``.
    """
    bad = ParameterError(f"shingle must be word:N or char:N with N an integer >= 1 and "
                         f"<= {MAX_SHINGLE_N}, got {spec!r}", param="shingle")
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise bad
    kind, n = spec.split(":")
    kind = kind.strip().lower()
    if kind not in ("word", "char") or not n.strip().isdigit() or not 1 <= int(n) <= MAX_SHINGLE_N:
        raise bad
    return kind, int(n)


def _fp_fn_areas(threshold: float, bands: np.ndarray, rows: np.ndarray):
    """Areas under the LSH S-curve ``1 - (1 - s**r)**b`` below (FP) and above (FN) the threshold.

    Gauss-Legendre quadrature (64 nodes per interval) vectorised over all (b, r).
    """
    x, w = np.polynomial.legendre.leggauss(64)

    def integral(lo, hi, f):
        s = (hi - lo) / 2 * x + (hi + lo) / 2
        return (hi - lo) / 2 * (f(s[None, :]) @ w)

    b = bands[:, None].astype(float)
    r = rows[:, None].astype(float)
    fp = integral(0.0, threshold, lambda s: 1 - (1 - s ** r) ** b)
    fn = integral(threshold, 1.0, lambda s: (1 - s ** r) ** b)
    return fp, fn


def optimal_lsh_params(threshold: float, perms: int, fp_weight: float = FP_WEIGHT,
                       fn_weight: float = FN_WEIGHT) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= perms minimising ``fp_weight*FP + fn_weight*FN``.

    The method of datasketch's ``MinHashLSH`` (``_optimal_param``), computed here
    with vectorised quadrature over every (b, r) at once.
    """
    pairs = [(b, r) for b in range(1, perms + 1) for r in range(1, perms // b + 1)]
    bands = np.array([p[0] for p in pairs])
    rows = np.array([p[1] for p in pairs])
    fp, fn = _fp_fn_areas(threshold, bands, rows)
    err = fp * fp_weight + fn * fn_weight
    i = int(np.argmin(err))  # first minimum, in datasketch's (b, r) scan order
    return int(bands[i]), int(rows[i])


@dataclass(frozen=True)
class MinHashConfig:
    """Parameters of a MinHash run (validated on construction: :class:`ParameterError`).

    Parameters
    ----------
    shingle : ``word:N`` (word n-grams) or ``char:N`` (character n-grams), 1 <= N <= 64.
    perms : signature length, 1..4096.
    threshold : Jaccard at or above which two documents are near-duplicates, in (0, 1].
    bands, rows : LSH bands x rows (both or neither; bands * rows <= perms); default from
        ``threshold`` (:func:`optimal_lsh_params`).
    seed : seed of the permutation parameters, >= 0.
    verify : exact Jaccard of the shingle sets (True) or the estimate (False).
    max_bucket : LSH buckets above this many documents are linked as a chain, >= 2.
    text : normalisation and token options.
    """
    shingle: str = "word:5"
    perms: int = 128
    threshold: float = 0.8
    bands: Optional[int] = None
    rows: Optional[int] = None
    seed: int = 1
    verify: bool = True
    max_bucket: int = 64
    text: TextOptions = field(default_factory=TextOptions)

    def __post_init__(self):
        parse_shingle(self.shingle)
        checked = {
            "perms": params.integer("perms", self.perms, minimum=1, maximum=MAX_PERMS),
            "threshold": params.number("threshold", self.threshold, above=0.0, maximum=1.0),
            "bands": params.integer("bands", self.bands, minimum=1, optional=True),
            "rows": params.integer("rows", self.rows, minimum=1, optional=True),
            "seed": params.integer("seed", self.seed, minimum=0),
            "verify": params.flag("verify", self.verify),
            "max_bucket": params.integer("max_bucket", self.max_bucket, minimum=2),
        }
        b, r, p = checked["bands"], checked["rows"], checked["perms"]
        if (b is None) != (r is None):
            raise ParameterError(f"bands must be given together with rows, got bands={b!r}, rows={r!r}",
                                 param="bands")
        if b is not None and b * r > p:
            raise ParameterError(f"bands must be such that bands x rows <= perms ({p}), got {b} x {r} = {b * r}",
                                 param="bands")
        if not isinstance(self.text, TextOptions):
            raise ParameterError(f"text must be a TextOptions, got {self.text!r}", param="text")
        for name, v in checked.items():  # normalised (numpy ints -> int); the dataclass is frozen
            object.__setattr__(self, name, v)

    @property
    def shingle_kind(self) -> str:
        return parse_shingle(self.shingle)[0]

    @property
    def shingle_n(self) -> int:
        return parse_shingle(self.shingle)[1]

    def lsh_params(self) -> tuple[int, int]:
        if self.bands is not None:
            return int(self.bands), int(self.rows)
        return _cached_lsh(float(self.threshold), int(self.perms))

    def signature_meta(self) -> dict:
        """What makes two signature sets comparable."""
        kind, n = parse_shingle(self.shingle)
        return {"family": FAMILY, "perms": int(self.perms), "seed": int(self.seed),
                "shingle": f"{kind}:{n}", "stopwords": list(self.text.stopwords),
                "strip_accents": bool(self.text.strip_accents),
                "min_token_len": int(self.text.min_token_len)}


_LSH_CACHE: dict = {}


def _cached_lsh(threshold: float, perms: int) -> tuple[int, int]:
    key = (threshold, perms)
    if key not in _LSH_CACHE:
        _LSH_CACHE[key] = optimal_lsh_params(threshold, perms)
    return _LSH_CACHE[key]


def permutations(perms: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 parameters (a odd, b) of ``perms`` permutations, from PCG64(``seed``)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = (rng.integers(0, 1 << 31, perms, dtype=np.uint64) * 2 + 1).astype(np.uint32)
    b = rng.integers(0, 1 << 32, perms, dtype=np.uint64).astype(np.uint32)
    return a, b


def _fused_args(cfg: MinHashConfig) -> tuple:
    """The text and shingle arguments of the fused CPU kernels (``doc_shingles``)."""
    from engine.normalize import get_tables, max_expansion
    from engine.text import stopword_hashes
    kind, n = parse_shingle(cfg.shingle)
    t = get_tables(cfg.text.strip_accents)
    stop = stopword_hashes(cfg.text) if cfg.text.stopwords else np.empty(0, np.uint64)
    return (t.flags, t.map_off, t.map_len, t.map_cps, np.int64(max_expansion(t)), stop,
            np.int64(cfg.text.min_token_len), kind == "char", np.int64(n))
