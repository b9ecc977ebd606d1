"""LSH and verification: candidate pairs from band keys, estimates, exact Jaccard of the
shingle sets, connected clusters.

* LSH: ``bands x rows`` slots (from the threshold by minimising the weighted sum of
  the false-positive and false-negative areas under the S-curve, datasketch's
  method, or given); documents whose band keys agree in some band are candidates.
  Buckets above ``max_bucket`` documents are linked as a chain.
* Verification: exact Jaccard of the two sets of 64-bit shingle hashes (or the
  estimate with ``verify=False``); pairs at or above the threshold are kept.
* Clusters: connected components of kept pairs; representative = the lowest corpus
  index of its members (so any algorithm, and any partitioning, gives the same clusters).
"""
from __future__ import annotations

import numpy as np

from engine.gpu.arrays import offsets_of
from engine.gpu.graph import connected_components
from engine.minhash.signatures import SignatureSet

__all__ = ["candidate_pairs", "pair_estimates", "pair_jaccard", "exact_jaccard", "connected_clusters",
           "VERIFY_CHUNK_BYTES"]


def candidate_pairs(sig, live, bands: int, rows: int, max_bucket: int, backend):
    """Distinct candidate pairs (a < b, sorted) of the documents ``live`` (indices into ``sig``).

    Band keys are computed band-major and grouped one band at a time (keys of
    different bands never meet: the band index seeds its key), so the sort buffers
    are one band long.  Each band is one plain sort of ``key_prefix | position``
    (the key's high ``64 - ceil(log2(n))`` bits above the document's position
    among ``live``): equal keys come out together and in corpus order, with no
    argsort and no gathers.  Truncating the key can only add candidates (about
    ``n**2 / 2**(65 - log2 n)`` per band, < 0.1 for a million documents), which
    verification (or the estimate) then rejects.
    """
    xp = backend.xp
    k = backend.kernels.minhash
    live = backend.to_device(np.asarray(live, dtype=np.int64))
    n = int(live.size)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    s = backend.to_device(sig)
    keys = xp.empty((bands, s.shape[0]), np.uint64)  # all rows: no copy of the live signatures
    k.band_keys(s.shape[0] * bands, s, np.int64(bands), np.int64(rows), keys)
    if n != s.shape[0]:
        keys = keys[:, live]
    del s
    bits = np.uint64(max(1, (n - 1).bit_length()))
    low = (np.uint64(1) << bits) - np.uint64(1)
    pos = xp.arange(n, dtype=np.uint64)
    code = None
    for j in range(bands):
        packed = ((keys[j] >> bits) << bits) | pos
        packed.sort()
        hi = packed >> bits
        brk = (xp.flatnonzero(hi[1:] != hi[:-1]) + 1).astype(np.int64)
        del hi
        starts = xp.concatenate([xp.zeros(1, np.int64), brk])
        ends = xp.concatenate([brk, xp.full(1, n, np.int64)])
        size = ends - starts
        multi = size >= 2
        starts, ends, size = starts[multi], ends[multi], size[multi]
        if int(starts.size) == 0:
            continue
        sd = live[(packed & low).astype(np.int64)]
        del packed
        cnt = xp.where(size > max_bucket, size - 1, size * (size - 1) // 2).astype(np.int64)
        off = offsets_of(xp, cnt)
        total = int(backend.scalar(off[-1]))
        out_a = xp.empty(total, np.int64)
        out_b = xp.empty(total, np.int64)
        k.candidate_pairs(int(starts.size), sd, starts, ends, np.int64(max_bucket), off, out_a, out_b)
        c = out_a * np.int64(1 << 32) + out_b
        del out_a, out_b
        code = c if code is None else xp.concatenate([code, c])  # merged band by band: memory
        code.sort()                                               # stays ~ distinct pairs + one band
        if code.size > 1:
            code = code[xp.concatenate([xp.ones(1, bool), code[1:] != code[:-1]])]
    if code is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = backend.to_host(code >> np.int64(32))
    b = backend.to_host(code & np.int64(0xFFFFFFFF))
    return a.astype(np.int64), b.astype(np.int64)


def pair_estimates(sig, a, b, backend) -> np.ndarray:
    """Estimated Jaccard (fraction of equal signature slots) of the pairs (a[i], b[i])."""
    xp = backend.xp
    if len(a) == 0:
        return np.empty(0, np.float64)
    out = xp.empty(len(a), np.int64)
    backend.kernels.minhash.pair_equal(len(a), backend.to_device(sig), backend.to_device(a),
                                       backend.to_device(b), np.int64(sig.shape[1]), out)
    return backend.to_host(out) / sig.shape[1]


def pair_jaccard(sh_hash, sh_off, a, b, backend) -> np.ndarray:
    """Exact Jaccard of the distinct shingle sets of the pairs (a[i], b[i])."""
    xp = backend.xp
    if len(a) == 0:
        return np.empty(0, np.float64)
    inter = xp.empty(len(a), np.int64)
    backend.kernels.minhash.pair_intersections(len(a), backend.to_device(sh_hash), backend.to_device(sh_off),
                                               backend.to_device(a), backend.to_device(b), inter)
    inter = backend.to_host(inter)
    cnt = np.diff(sh_off)
    union = cnt[a] + cnt[b] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


VERIFY_CHUNK_BYTES = 32 << 20


def exact_jaccard(sigs: SignatureSet, a, b, backend) -> np.ndarray:
    """Exact Jaccard of the shingle sets of the pairs (a[i], b[i]) of ``sigs`` (kept source).

    Only the documents of the pairs are re-shingled, sorted and deduplicated, in
    chunks of pairs of about ``VERIFY_CHUNK_BYTES`` of text (bounded memory).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.size == 0:
        return np.empty(0, np.float64)
    lens = sigs.source.doc_bytes(np.concatenate([a, b]))
    cum = np.cumsum(lens[:a.size] + lens[a.size:])
    cuts = np.searchsorted(cum, np.arange(VERIFY_CHUNK_BYTES, int(cum[-1]), VERIFY_CHUNK_BYTES))
    bounds = np.unique(np.concatenate([[0], cuts + 1, [a.size]]).clip(0, a.size))
    out = np.empty(a.size, np.float64)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ca, cb = a[lo:hi], b[lo:hi]
        docs = np.unique(np.concatenate([ca, cb]))
        uh, uoff = sigs.source.shingle_sets(docs, sigs.n_shingles[docs], backend)
        out[lo:hi] = pair_jaccard(uh, uoff, np.searchsorted(docs, ca), np.searchsorted(docs, cb), backend)
    return out


def connected_clusters(n: int, a: np.ndarray, b: np.ndarray, backend, stats=None):
    """(labels = representative index per document, size per document) of the pair graph.

    The components come from :func:`engine.gpu.graph.connected_components` (the device's
    library when the ``gpu`` extra provides it, else scipy: chosen explicitly, its name put
    in ``stats.counters["components"]``); the representative is the lowest member, so every
    implementation gives the same clusters.
    """
    if len(a):
        labels, engine_name = connected_components(n, a, b, backend)
    else:   # no pairs: each document its own cluster, no graph library loaded (scipy.sparse: 0.2-0.4 s)
        labels, engine_name = np.arange(n, dtype=np.int64), "none (no pairs)"
    if stats is not None:
        stats.counters["components"] = engine_name
    labels = np.asarray(labels, dtype=np.int64)
    nl = int(labels.max()) + 1 if n else 0
    rep_of = np.full(nl, n, dtype=np.int64)
    np.minimum.at(rep_of, labels, np.arange(n, dtype=np.int64))
    size = np.bincount(labels, minlength=nl)[labels] if n else np.empty(0, np.int64)
    return rep_of[labels], size.astype(np.int64)
