"""Short byte copies eight bytes at a time, for the strings the counting kernels write.

A new key's string (a word n-gram: its tokens joined by spaces) is some 10-30 bytes;
copied byte by byte it cost the counting kernel more than probing the table (trigrams
of 50 MB of English: 65 ns a new key, half the kernel's time).  :func:`copy_bytes` moves
unaligned 8-byte words instead, and may write up to ``SLACK - 1`` bytes past the end of
the copy (garbage the next string overwrites): the caller keeps ``SLACK`` bytes of room
after every string it writes.  Reads past the source's end never happen: the tail of a
source array is copied byte by byte.
"""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

SLACK = 8   # bytes past a copy that copy_bytes may overwrite


def _pointer(context, builder, aryty, ary, idx_args, idx_types):
    arr = context.make_array(aryty)(context, builder, ary)
    idx = [context.cast(builder, a, t, types.intp) for a, t in zip(idx_args, idx_types)]
    ptr = cgutils.get_item_pointer(context, builder, aryty, arr, idx, wraparound=False)
    return builder.bitcast(ptr, ir.IntType(64).as_pointer())


@intrinsic
def load8(typingctx, ary, i):
    """The 8 bytes of the uint8 array ``ary`` from index ``i`` as one uint64 (unaligned)."""
    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1:], sig.args[1:])
        return builder.load(ptr, align=1)
    return types.uint64(ary, i), codegen


@intrinsic
def store8(typingctx, ary, p, o, v):
    """Write the uint64 ``v`` as 8 bytes to the 2-d uint8 array ``ary`` at ``[p, o:o + 8]``
    (unaligned; the row must hold them)."""
    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1:3], sig.args[1:3])
        val = context.cast(builder, args[3], sig.args[3], types.uint64)
        builder.store(val, ptr, align=1)
        return context.get_dummy_value()
    return types.void(ary, p, o, v), codegen


@njit(cache=True, inline="always")
def copy_bytes(src, s, dst, p, o, ln):
    """``dst[p, o:o + ln] = src[s:s + ln]``, eight bytes at a time; may write
    ``dst[p, o + ln:o + ln + SLACK - 1]`` too (the caller's slack)."""
    b = 0
    while b + SLACK <= ln or (b < ln and s + b + SLACK <= src.size):
        store8(dst, p, o + b, load8(src, s + b))
        b += SLACK
    while b < ln:   # the last bytes of ``src``: not read past its end
        dst[p, o + b] = src[s + b]
        b += 1
