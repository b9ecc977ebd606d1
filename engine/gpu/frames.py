"""Results as cuDF DataFrames, for users whose next step is on the GPU.

cudf is imported when asked for, never before; without it the call fails in one line
(:class:`CudfUnavailable`) saying how to get it.
"""
from __future__ import annotations

__all__ = ["CudfUnavailable", "to_cudf"]


class CudfUnavailable(RuntimeError):
    """cudf cannot be imported (one line for the user)."""


def to_cudf(table):
    """``table`` (a ``pyarrow.Table``) as a ``cudf.DataFrame`` on the current GPU.

    Raises
    ------
    CudfUnavailable
        cudf is not installed (or cannot load: no CUDA driver).
    """
    try:
        import cudf
    except ImportError as e:
        raise CudfUnavailable(f"to_cudf needs cudf: pip install 'corpus-engine[gpu]' on a machine with an "
                              f"NVIDIA GPU ({type(e).__name__}: {e})") from None
    return cudf.DataFrame.from_arrow(table)
