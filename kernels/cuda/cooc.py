"""CUDA twins of the co-occurrence kernels: one thread per token (or per piece of a row) around the shared cores.

On the GPU the pairs are materialised in bounded chunks (sized by a counting launch and
a prefix sum; a write launch per chunk of tokens or rows) and counted by key with a
sort + segmented sum in cupy; the CPU
counts frequent pairs in a dense block and buffers the others (see
``kernels.cpu.cooc``).  Lazy
``@cuda.jit(cache=True)``: importing this module needs no driver; compiled kernels are
cached beside the module like the njit ones.
"""
from __future__ import annotations

from numba import cuda

from kernels import cooc_core
from kernels.cuda import device

doc_pairs_span = device(cooc_core.doc_pairs_span)
term_id = device(cooc_core.term_id)
window_pairs = device(cooc_core.window_pairs)


@cuda.jit(cache=True)
def lookup_ids(sorted_hashes, sorted_ids, hashes, out):
    i = cuda.grid(1)
    if i < hashes.size:
        out[i] = term_id(sorted_hashes, sorted_ids, hashes[i])


@cuda.jit(cache=True)
def window_pair_counts(ids, tok_end, window, wtab, kd, wd, out):
    i = cuda.grid(1)
    if i < ids.size:
        out[i] = window_pairs(ids, i, tok_end[i], window, wtab, kd, wd, 0, False)


@cuda.jit(cache=True)
def window_pair_write(ids, tok_end, window, wtab, lo, hi, out_off, base, keys, wts):
    """The pairs of tokens ``[lo, hi)``: token i's at ``out_off[i] - base`` of this chunk."""
    i = lo + cuda.grid(1)
    if i < hi:
        window_pairs(ids, i, tok_end[i], window, wtab, keys, wts, out_off[i] - base, True)


@cuda.jit(cache=True)
def doc_pair_write(uids, piece_row, piece_q0, lo, hi, piece_off, base, keys, wts):
    """The pairs of pieces ``[lo, hi)``: piece p is row ``piece_row[p]`` with the ids
    ``piece_q0[p] ..`` (``piece_off[p + 1] - piece_off[p]`` of them), written at
    ``piece_off[p] - base`` of this chunk.  A document of u distinct terms has u(u + 1)/2
    pairs: cut in pieces of a bounded size, no thread writes a long row alone."""
    p = lo + cuda.grid(1)
    if p < hi:
        q0 = piece_q0[p]
        doc_pairs_span(uids, piece_row[p], q0, q0 + piece_off[p + 1] - piece_off[p], keys, wts,
                       piece_off[p] - base)


_I32, _I64, _U64 = "int32[::1]", "int64[::1]", "uint64[::1]"
PTX_SIGNATURES = {
    "lookup_ids": f"void({_U64}, {_I32}, {_U64}, {_I32})",
    "window_pair_counts": f"void({_I32}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I64})",
    "window_pair_write": f"void({_I32}, {_I64}, int64, {_I64}, int64, int64, {_I64}, int64, {_U64}, {_I64})",
    "doc_pair_write": f"void({_I32}, {_I64}, {_I64}, int64, int64, {_I64}, int64, {_U64}, {_I64})",
}
