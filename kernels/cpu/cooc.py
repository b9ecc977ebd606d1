"""CPU twins of the co-occurrence kernels (numba njit) around ``kernels.cooc_core``.

Vocabulary pass: :func:`text_types` goes from the raw bytes to a *type number*
per token in one pass (each thread tokenises its documents in scratch and counts
them into its own open-addressing table; :func:`type_merge` folds the tables into
the corpus-wide one and :func:`type_remap` renumbers); :func:`type_count` does the
same from token hashes (GPU batches, slow-path documents); :func:`type_doc_freq` adds
the document frequency and first document of each type.  The pair pass then
needs no hash lookup: ``ids = type_to_id[types]`` is one gather.

Pair pass, cache-friendly: term ids are frequency ranks, so most pairs (74-85 %
on the bench corpora) join two of the ``K`` most frequent terms.  :func:`window_dense_rest`
(and :func:`doc_dense_rest`) split the tokens (rows) into one contiguous range per
thread; each thread adds such pairs to its own dense ``K x K`` block (row ``a``,
column ``b``, ``a <= b``: one increment, no hashing, hot rows in cache) and
appends every other pair key to its own buffer (sequential writes).  A full
buffer stops its thread at a token boundary (``resume``); the caller reduces the
buffers and calls again, so memory stays bounded.  The buffered keys are reduced
exactly: :func:`bucket_plan` cuts the rows into ranges of about ``BUCKET_KEYS``
keys, :func:`rest_scatter` groups the keys by range (counting sort), and
:func:`rest_reduce` sorts each range in parallel with an LSD radix sort that stays
in the L2 cache (about half of these keys are distinct: a sort beats a hash
table) and sums equal keys; ranges are ordered, so :func:`rest_compact` yields
one run sorted by key.  :func:`merge_sorted` adds two sorted runs (when buffers
fill more than once) and :func:`assemble` writes the final columns (a, b, count):
dense row ``a``, then its buffered pairs.  Big arrays are allocated by the
caller with numpy (huge pages), not in the kernels.
Every sum is an integer sum: the counts do not depend on threads or batches.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import EMPTY, LOW32, term_id
from kernels.cpu.text import doc_tokens, token_scratch

BUCKET_KEYS = 1 << 15   # buffered keys per reduction range (its radix sort stays in L2)


# --- vocabulary pass -----------------------------------------------------------------------
@njit(cache=True)
def _slot(tb, mask, h):
    """Slot of hash ``h`` in the table ``tb`` (linear probing): where it is, or the empty slot
    where it goes."""
    s = np.int64(h & np.uint64(mask))
    while True:
        k = tb[2 * s]
        if k == h or k == EMPTY:
            return s
        s = (s + 1) & mask


@njit(cache=True)
def _new_type(tb, s, h, t, tcount, tpos, tlen, pool, pu, src, st, ln):
    """Type number ``t`` for hash ``h`` at the empty slot ``s``, count 0, its spelling
    ``src[st:st + ln]`` appended to ``pool`` at ``pu``; returns the new end of the pool."""
    tb[2 * s] = h
    tb[2 * s + 1] = np.uint64(t)
    tpos[t] = pu
    tlen[t] = ln
    tcount[t] = 0
    for c in range(ln):
        pool[pu + c] = src[st + c]
    return pu + ln


@njit(parallel=True, cache=True)
def type_count(tab, mask, used, limit, tcount, tpos, tlen, pool, pool_used,
               hashes, counts, starts, lens, norm, out, resume, end, full):
    """Count token hashes by type, one range of tokens per thread (see ``engine.cooc._TypeTable``).

    Part ``p`` counts tokens ``resume[p] .. end[p]`` into its own table ``tab[p]``:
    hash at ``2 s`` and local type number at ``2 s + 1`` (one cache line per probe;
    slot = low bits of the hash, xxHash64 being well mixed); ``tcount``, ``tpos``,
    ``tlen`` are indexed by (part, local number).  A new type records its normalised
    bytes in ``pool[p]``.  ``counts`` empty means 1 per hash; ``out`` (when not empty)
    receives the local type number of every token.  A part stops before its table
    holds more than ``limit`` types (``full[p] = 1``) or its pool overflows
    (``full[p] = 2``); ``resume[p]`` is where it stopped.
    """
    unit = counts.size == 0
    write = out.size > 0
    for p in prange(used.size):
        tb = tab[p]
        tc = tcount[p]
        tp = tpos[p]
        tl = tlen[p]
        pl = pool[p]
        ntypes = used[p]
        pu = pool_used[p]
        full[p] = 0
        i = resume[p]
        n = end[p]
        while i < n:
            h = hashes[i]
            s = _slot(tb, mask, h)
            if tb[2 * s] == h:
                t = np.int64(tb[2 * s + 1])
            else:
                ln = lens[i]
                if ntypes >= limit:
                    full[p] = 1
                    break
                if pu + ln > pl.size:
                    full[p] = 2
                    break
                t = ntypes
                ntypes += 1
                pu = _new_type(tb, s, h, t, tc, tp, tl, pl, pu, norm, starts[i], ln)
            tc[t] += 1 if unit else counts[i]
            if write:
                out[i] = t
            i += 1
        used[p] = ntypes
        pool_used[p] = pu
        resume[p] = i


@njit(parallel=True, cache=True)
def text_types(data, offsets, flags, map_off, map_len, map_cps, max_expand, stop, min_len,
               resume, d_end, tab, mask, used, limit, tcount, tpos, tlen, pool, pool_used,
               out, out_n, doc_ntok, full):
    """Raw UTF-8 documents -> the type number of every token, one pass (the CPU vocabulary pass).

    Part ``p`` (one per thread) takes documents ``resume[p] .. d_end[p]``: each is
    normalised and tokenised in scratch (``doc_tokens``, the cores of ``tokenize``),
    its tokens counted into the part's own table as :func:`type_count` does, and
    their local type numbers appended to ``out[p]`` (``out_n[p]`` so far);
    ``doc_ntok[d]`` = the document's token count, -1 when it needs the exact slow
    path (left to the caller).  A part stops before a document that would overflow
    its table's ``limit`` (``full[p] = 1``), its pool (2) or ``out[p]`` (3);
    ``resume[p]`` is that document.  No corpus-wide text or token array is written.
    Any bytes are safe (``doc_tokens`` reads invalid UTF-8 as U+FFFD, in bounds).
    """
    for p in prange(used.size):
        sc = token_scratch()
        tb = tab[p]
        tc = tcount[p]
        tp = tpos[p]
        tl = tlen[p]
        pl = pool[p]
        op = out[p]
        ntypes = used[p]
        pu = pool_used[p]
        m = out_n[p]
        full[p] = 0
        d = resume[p]
        while d < d_end[p]:
            nt, ln, sc = doc_tokens(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                                    max_expand, stop, min_len, sc)
            if nt < 0:
                doc_ntok[d] = -1
                d += 1
                continue
            if ntypes + nt > limit:
                full[p] = 1
                break
            if pu + ln > pl.size:
                full[p] = 2
                break
            if m + nt > op.size:
                full[p] = 3
                break
            norm, t_start, t_len, t_nch, t_hash = sc
            for q in range(nt):
                h = t_hash[q]
                s = _slot(tb, mask, h)
                if tb[2 * s] == h:
                    t = np.int64(tb[2 * s + 1])
                else:
                    t = ntypes
                    ntypes += 1
                    pu = _new_type(tb, s, h, t, tc, tp, tl, pl, pu, norm, t_start[q], t_len[q])
                tc[t] += 1
                op[m] = t
                m += 1
            doc_ntok[d] = nt
            d += 1
        used[p] = ntypes
        pool_used[p] = pu
        out_n[p] = m
        resume[p] = d


@njit(cache=True)
def type_merge(tab, mask, used, tcount, tpos, tlen, pool, pool_used, p, remap):
    """Fold part ``p`` into part 0 (the corpus-wide types): counts added, new types
    appended with their spelling; ``remap[local] = type number``.  Part ``p`` is left
    empty.  The caller makes room first (part 0's table and pool)."""
    t0 = tab[0]
    tb = tab[p]
    n0 = used[0]
    pu = pool_used[0]
    for q in range(tb.size // 2):
        h = tb[2 * q]
        if h == EMPTY:
            continue
        loc = np.int64(tb[2 * q + 1])
        s = _slot(t0, mask, h)
        if t0[2 * s] == h:
            g = np.int64(t0[2 * s + 1])
        else:
            g = n0
            n0 += 1
            pu = _new_type(t0, s, h, g, tcount[0], tpos[0], tlen[0], pool[0], pu, pool[p], tpos[p, loc],
                           tlen[p, loc])
        tcount[0, g] += tcount[p, loc]
        remap[loc] = g
        tb[2 * q] = EMPTY
    used[0] = n0
    pool_used[0] = pu
    used[p] = 0
    pool_used[p] = 0


@njit(parallel=True, cache=True)
def type_remap(out, beg, end, remap):
    """``out[i] = remap[out[i]]`` for ``beg <= i < end``."""
    for i in prange(beg, end):
        out[i] = remap[out[i]]


@njit(cache=True)
def type_rehash(old, new, mask):
    for q in range(old.size // 2):
        h = old[2 * q]
        if h != EMPTY:
            s = _slot(new, mask, h)
            new[2 * s] = h
            new[2 * s + 1] = old[2 * q + 1]


@njit(parallel=True, cache=True)
def lookup_ids(sorted_hashes, sorted_ids, hashes):
    """Term id of every token (-1 for a pruned term): the CPU twin of the GPU lookup."""
    out = np.empty(hashes.size, np.int32)
    for i in prange(hashes.size):
        out[i] = term_id(sorted_hashes, sorted_ids, hashes[i])
    return out


@njit(parallel=True, cache=True)
def gather_ids(type_to_id, types, out):
    """Term id of every token from its type number."""
    for i in prange(types.size):
        out[i] = type_to_id[types[i]]


# --- pair pass: dense block + buffered rest --------------------------------------------------
@njit(cache=True)
def _emit(a, b, w, dense, k, rk, rw, m, unit):
    """Pair a, b: into the dense block when both ids are < k, else appended to the buffer."""
    if a > b:
        a, b = b, a
    if b < k:
        dense[np.int64(a) * k + b] += w
        return m
    rk[m] = (np.uint64(a) << np.uint64(32)) | np.uint64(b)
    if not unit:
        rw[m] = w
    return m + 1


@njit(parallel=True, cache=True)
def window_dense_rest(ids, doc_off, window, wtab, unit, tbeg, tend, dense, k, rest_k, rest_w,
                      rest_n, resume):
    """Window pairs of tokens ``resume[t] .. tend[t]`` of each thread ``t`` (see the module doc).

    ``unit``: every weight is 1 (``rest_w`` unused).  Stops a thread before a
    token whose pairs might not fit its buffer; ``resume[t]`` is where it stopped.
    """
    for t in prange(tbeg.size):
        i = resume[t]
        e_t = tend[t]
        if i >= e_t:
            continue
        dn = dense[t]
        rk = rest_k[t]
        rw = rest_w[t]
        cap = rk.size
        m = rest_n[t]
        d = np.searchsorted(doc_off, i, side="right") - 1
        while i < e_t:
            if m + window > cap:
                break
            while doc_off[d + 1] <= i:
                d += 1
            a = ids[i]
            if a >= 0:
                stop = i + window
                e = doc_off[d + 1] - 1
                if stop > e:
                    stop = e
                for j in range(i + 1, stop + 1):
                    b = ids[j]
                    if b >= 0:
                        m = _emit(a, b, 1 if unit else wtab[j - i], dn, k, rk, rw, m, unit)
            i += 1
        rest_n[t] = m
        resume[t] = i


@njit(parallel=True, cache=True)
def doc_dense_rest(uids, row_end, tbeg, tend, dense, k, rest_k, rest_w, rest_n, resume):
    """Document pairs (row r: uids[r] with uids[r..row_end[r]), weight 1), like window_dense_rest."""
    for t in prange(tbeg.size):
        r = resume[t]
        e_t = tend[t]
        if r >= e_t:
            continue
        dn = dense[t]
        rk = rest_k[t]
        rw = rest_w[t]
        cap = rk.size
        m = rest_n[t]
        while r < e_t:
            e = row_end[r]
            if m + (e - r) > cap:
                break
            a = uids[r]
            for q in range(r, e):
                m = _emit(a, uids[q], 1, dn, k, rk, rw, m, True)
            r += 1
        rest_n[t] = m
        resume[t] = r


@njit(cache=True)
def bucket_plan(rest_k, rest_n, n_rows, target):
    """Bucket of each row (ranges of consecutive rows with about ``target`` keys), bucket sizes
    and the first row of each bucket."""
    hist = np.zeros(n_rows, np.int64)
    for t in range(rest_n.size):
        for i in range(rest_n[t]):
            hist[np.int64(rest_k[t, i] >> np.uint64(32))] += 1
    row_bucket = np.empty(n_rows, np.int32)
    sizes = np.zeros(n_rows + 1, np.int64)
    first = np.zeros(n_rows + 2, np.int64)
    b = 0
    for r in range(n_rows):
        if sizes[b] > 0 and sizes[b] + hist[r] > target:
            b += 1
            first[b] = r
        row_bucket[r] = b
        sizes[b] += hist[r]
    first[b + 1] = n_rows
    return row_bucket, sizes[:b + 1], first[:b + 2]


@njit(cache=True)
def _bits(x):
    n = 0
    while x > 0:
        n += 1
        x >>= 1
    return n


@njit(cache=True)
def rest_scatter(rest_k, rest_w, rest_n, unit, row_bucket, start, sk, sw):
    """The buffered keys (and weights) of every thread, grouped by bucket (stable)."""
    pos = start[:-1].copy()
    for t in range(rest_n.size):
        for i in range(rest_n[t]):
            key = rest_k[t, i]
            b = row_bucket[np.int64(key >> np.uint64(32))]
            sk[pos[b]] = key
            if not unit:
                sw[pos[b]] = rest_w[t, i]
            pos[b] += 1


@njit(parallel=True, cache=True)
def rest_reduce(sk, sw, unit, start, first, b_bits, c2, w2, out_v, out_n):
    """Per bucket ``start[q] .. start[q + 1]``: LSD radix sort (8-bit digits) of the composite
    (row - first row, b), in ``sk`` / ``c2`` (weights in ``sw`` / ``w2``), then one key per
    distinct pair at the start of the bucket's range of ``sk``, its summed weight in ``out_v``."""
    bmask = np.uint64((1 << b_bits) - 1)
    for bkt in prange(start.size - 1):
        s = start[bkt]
        e = start[bkt + 1]
        n = e - s
        out_n[bkt] = 0
        if n == 0:
            continue
        a0 = np.uint64(first[bkt])
        nbits = _bits(first[bkt + 1] - 1 - first[bkt]) + b_bits
        c = sk[s:e]
        c_o = c2[s:e]
        w = sw[s:e]
        w_o = w2[s:e]
        for i in range(n):
            key = c[i]
            c[i] = (((key >> np.uint64(32)) - a0) << np.uint64(b_bits)) | (key & LOW32)
        cnt = np.empty(256, np.int64)
        shift = 0
        flip = False
        while shift < nbits:
            cnt[:] = 0
            sh = np.uint64(shift)
            for i in range(n):
                cnt[np.int64((c[i] >> sh) & np.uint64(255))] += 1
            tot = 0
            for d in range(256):
                x = cnt[d]
                cnt[d] = tot
                tot += x
            for i in range(n):
                d = np.int64((c[i] >> sh) & np.uint64(255))
                c_o[cnt[d]] = c[i]
                if not unit:
                    w_o[cnt[d]] = w[i]
                cnt[d] += 1
            c, c_o = c_o, c
            w, w_o = w_o, w
            flip = not flip
            shift += 8
        u = 0
        i = 0
        while i < n:
            x = c[i]
            v = 0
            while i < n and c[i] == x:
                v += 1 if unit else w[i]
                i += 1
            c[u] = (((x >> np.uint64(b_bits)) + a0) << np.uint64(32)) | (x & bmask)
            out_v[s + u] = v
            u += 1
        if flip:   # the distinct keys back in sk (u <= n: cheap, still in cache)
            sk[s:s + u] = c[:u]
        out_n[bkt] = u


@njit(cache=True)
def rest_compact(sk, out_v, start, out_n):
    """The distinct keys of every bucket moved one after the other (sorted), in place;
    returns their number."""
    o = 0
    for bkt in range(start.size - 1):
        s = start[bkt]
        for q in range(out_n[bkt]):
            sk[o] = sk[s + q]
            out_v[o] = out_v[s + q]
            o += 1
    return o


@njit(cache=True)
def merge_sorted(k1, v1, k2, v2, ok, ov):
    """Union of two runs sorted by key (distinct keys each) into ``ok``, ``ov``, values of equal
    keys added; returns the number of keys."""
    i = j = n = 0
    while i < k1.size and j < k2.size:
        if k1[i] < k2[j]:
            ok[n] = k1[i]
            ov[n] = v1[i]
            i += 1
        elif k2[j] < k1[i]:
            ok[n] = k2[j]
            ov[n] = v2[j]
            j += 1
        else:
            ok[n] = k1[i]
            ov[n] = v1[i] + v2[j]
            i += 1
            j += 1
        n += 1
    while i < k1.size:
        ok[n] = k1[i]
        ov[n] = v1[i]
        i += 1
        n += 1
    while j < k2.size:
        ok[n] = k2[j]
        ov[n] = v2[j]
        j += 1
        n += 1
    return n


@njit(parallel=True, cache=True)
def dense_row_counts(dense, k, rows):
    """Non-zero cells of row a (summed over the threads' blocks) at ``rows[a + 1]``."""
    nt = dense.shape[0]
    for a in prange(k):
        c = 0
        for b in range(a, k):
            s = 0
            for t in range(nt):
                s += dense[t, a * k + b]
            if s != 0:
                c += 1
        rows[a + 1] = c


@njit(parallel=True, cache=True)
def assemble(dense, k, drows, rkeys, rvals, rrows, out_a, out_b, out_v):
    """All pairs sorted by (a, b) as columns: row a < k is its dense cells (summed over the
    threads' blocks, b < k) then its buffered pairs (b >= k); rows >= k are buffered pairs only.
    ``drows``: cumulated non-zero cells per dense row; ``rrows[a]``: first key of row a in
    ``rkeys`` (a = 0..k)."""
    nt = dense.shape[0]
    for a in prange(k + 1):
        if a < k:
            o = drows[a] + rrows[a]
            for b in range(a, k):
                s = 0
                for t in range(nt):
                    s += dense[t, a * k + b]
                if s != 0:
                    out_a[o] = a
                    out_b[o] = b
                    out_v[o] = s
                    o += 1
            r1 = rrows[a + 1]
        else:
            o = drows[k] + rrows[k]
            r1 = rkeys.size
        for r in range(rrows[a], r1):
            key = rkeys[r]
            out_a[o] = np.int32(key >> np.uint64(32))
            out_b[o] = np.int32(key & LOW32)
            out_v[o] = rvals[r]
            o += 1


@njit(parallel=True, cache=True)
def doc_unique(ids, doc_off, out, counts):
    """Sorted distinct term ids (>= 0) of each document, written at the document's own offset."""
    for d in prange(doc_off.size - 1):
        s = doc_off[d]
        e = doc_off[d + 1]
        v = np.sort(ids[s:e])
        u = 0
        prev = -1
        for k in range(v.size):
            x = v[k]
            if x >= 0 and x != prev:
                out[s + u] = x
                u += 1
                prev = x
        counts[d] = u


@njit(cache=True)
def marginal_sums(a, b, raw, n):
    """Row sums of the symmetric matrix whose upper triangle is (a, b, raw): exact int64."""
    m = np.zeros(n, np.int64)
    for k in range(a.size):
        m[a[k]] += raw[k]
        m[b[k]] += raw[k]
    return m


MEASURE_CODES = {"pmi": 1, "ppmi": 2, "npmi": 3, "llr": 4}


@njit(cache=True)
def _xlog(c, row, col, d, tf, unit):
    if c <= 0:
        return 0.0
    if unit:   # x / 1.0 == x exactly: the same value without three divisions
        cf = np.float64(c)
        return cf * np.log((cf * tf) / (np.float64(row) * np.float64(col)))
    cf = c / d
    return cf * np.log((cf * tf) / ((row / d) * (col / d)))


@njit(parallel=True, cache=True)
def measure_rows(code, a, b, raw, sel, m, t, divisor, diag2, out):
    """One association measure (``MEASURE_CODES``) of the rows ``sel`` (all rows when empty).

    ``m``: marginals (or document frequencies), ``t``: T (or N), integers in weight
    units; ``diag2``: M[a, a] = 2 raw (window mode).  The float operations are those
    of the README formulas, row by row.
    """
    n = sel.size if sel.size else raw.size
    unit = divisor == 1
    d = np.float64(divisor)
    tf = t / d
    for q in prange(n):
        r = sel[q] if sel.size else np.int64(q)
        x = a[r]
        y = b[r]
        k = raw[r] * 2 if (diag2 and x == y) else raw[r]
        ra = m[x]
        rb = m[y]
        kf = k / d
        if code == 4:
            g = (_xlog(k, ra, rb, d, tf, unit) + _xlog(ra - k, ra, t - rb, d, tf, unit)
                 + _xlog(rb - k, t - ra, rb, d, tf, unit) + _xlog(t - ra - rb + k, t - ra, t - rb, d, tf, unit))
            out[q] = max(2.0 * g, 0.0)
        else:
            pmi = np.log((kf * tf) / ((ra / d) * (rb / d)))
            if code == 1:
                out[q] = pmi
            elif code == 2:
                out[q] = max(pmi, 0.0)
            else:
                den = -np.log(kf / tf)
                out[q] = pmi / den if den > 0 else 1.0


@njit(cache=True)
def type_doc_freq(types, seg_off, docs, last, doc_freq, first_doc):
    """Document frequency and first document of the types of one segment: document ``d`` of
    the segment (tokens ``seg_off[d] .. seg_off[d + 1]``) is document ``docs[d]`` of the
    partition (each document in one segment only).  ``last``: the last document counted per
    type (-1 at first)."""
    for d in range(seg_off.size - 1):
        doc = docs[d]
        for i in range(seg_off[d], seg_off[d + 1]):
            t = types[i]
            if last[t] != doc:
                last[t] = doc
                doc_freq[t] += 1
                if first_doc[t] < 0 or doc < first_doc[t]:
                    first_doc[t] = doc
