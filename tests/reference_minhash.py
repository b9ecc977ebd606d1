"""Plain-Python oracles for MinHash: shingles, exact Jaccard, signatures (slow, tests only)."""
import numpy as np
import xxhash

from engine.normalize import normalize_text, reference_tokens

M64 = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87


def mix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def fold(hashes):
    h = len(hashes)
    for t in hashes:
        h = mix64((h * P1 + t) & M64)
    return h


def shingle_set(text, kind="word", n=5, strip_accents=False):
    """Set of 64-bit shingle hashes of ``text`` by the documented definition."""
    if kind == "word":
        th = [xxhash.xxh64_intdigest(t.encode("utf-8")) for t in reference_tokens(text, strip_accents)]
        if not th:
            return set()
        if len(th) < n:
            return {fold(th)}
        return {fold(th[i:i + n]) for i in range(len(th) - n + 1)}
    s = normalize_text(text, strip_accents)
    if not s:
        return set()
    if len(s) < n:
        return {xxhash.xxh64_intdigest(s.encode("utf-8"))}
    return {xxhash.xxh64_intdigest(s[i:i + n].encode("utf-8")) for i in range(len(s) - n + 1)}


def jaccard(a, b):
    u = len(a | b)
    return len(a & b) / u if u else 0.0


def signature(shingles, a, b):
    """Affine32 MinHash of a set of 64-bit hashes with parameters (a, b)."""
    sig = []
    for ak, bk in zip(a.tolist(), b.tolist()):
        sig.append(min(((ak * (h >> 32) + bk) & 0xFFFFFFFF) for h in shingles) if shingles else 0xFFFFFFFF)
    return np.array(sig, dtype=np.uint32)
