"""CUDA twins of the co-occurrence kernels: one thread per token (or per row) around the shared cores.

On the GPU the pairs are materialised (sized by a counting launch and a
prefix sum) and counted by key with a sort + segmented sum in cupy; the CPU
counts frequent pairs in a dense block and buffers the others (see
``kernels.cpu.cooc``).  Lazy
``@cuda.jit``: importing this module needs no driver.
"""
from __future__ import annotations

from numba import cuda

from kernels import cooc_core
from kernels.cuda import device

doc_pairs_row = device(cooc_core.doc_pairs_row)
term_id = device(cooc_core.term_id)
window_pairs = device(cooc_core.window_pairs)


@cuda.jit
def lookup_ids(sorted_hashes, sorted_ids, hashes, out):
    i = cuda.grid(1)
    if i < hashes.size:
        out[i] = term_id(sorted_hashes, sorted_ids, hashes[i])


@cuda.jit
def window_pair_counts(ids, tok_end, window, wtab, kd, wd, out):
    i = cuda.grid(1)
    if i < ids.size:
        out[i] = window_pairs(ids, i, tok_end[i], window, wtab, kd, wd, 0, False)


@cuda.jit
def window_pair_write(ids, tok_end, window, wtab, out_off, keys, wts):
    i = cuda.grid(1)
    if i < ids.size:
        window_pairs(ids, i, tok_end[i], window, wtab, keys, wts, out_off[i], True)


@cuda.jit
def doc_pair_write(uids, row_end, out_off, keys, wts):
    r = cuda.grid(1)
    if r < uids.size:
        doc_pairs_row(uids, r, row_end[r], keys, wts, out_off[r])


_I32, _I64, _U64 = "int32[::1]", "int64[::1]", "uint64[::1]"
PTX_SIGNATURES = {
    "lookup_ids": f"void({_U64}, {_I32}, {_U64}, {_I32})",
    "window_pair_counts": f"void({_I32}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I64})",
    "window_pair_write": f"void({_I32}, {_I64}, int64, {_I64}, {_I64}, {_U64}, {_I64})",
    "doc_pair_write": f"void({_I32}, {_I64}, {_I64}, {_U64}, {_I64})",
}
