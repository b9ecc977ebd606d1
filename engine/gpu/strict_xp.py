"""A strict array module: numpy underneath, refusing what CuPy does differently.

Under the CUDA simulator the GPU backend's array module would be plain numpy, so a line
of GPU glue that only CuPy rejects (``xp.repeat`` with an array of repeats before CuPy
14.1, ``np.asarray`` of a device array, a host array mixed into a device expression)
would pass every test and crash on the first real GPU.  :class:`StrictXP` is the
simulated backend's ``xp``: its arrays (:class:`StrictArray`) hold a numpy array but

* refuse implicit conversion to the host: ``np.asarray`` / ``__array__``, iteration,
  ``.tolist()``, ``.get()``, ``.tobytes()``, and ``int()`` / ``float()`` / ``bool()`` /
  ``.item()`` of any device array, 0-d included: CuPy reads a 0-d array's value from the
  device (a synchronisation and a copy), which the backend's count would miss (only
  ``backend.to_host`` and ``backend.scalar`` bring data back, counted);
* refuse host arrays where a device array is due: mixed into an operator, as an index,
  assigned into a slice, given to ``xp.asarray`` (only ``backend.to_device`` copies to
  the device, and counts the bytes);
* refuse ``repeat`` with array-valued repeats (CuPy 13 takes an int or a sequence);
* demand ``kind="stable"`` of ``argsort`` (CuPy's is always stable, numpy's default is
  not: ties would order differently) and refuse a sort kind CuPy does not accept.

Anything not listed is refused too (an unknown ``xp`` function is an AttributeError), so
the glue keeps to a vetted subset of the API that numpy and CuPy 13/14 share.
"""
from __future__ import annotations

import operator

import numpy as np

__all__ = ["StrictXP", "StrictArray", "StrictError", "raw"]


class StrictError(TypeError):
    """A use of a device array that CuPy would reject or that would copy behind the backend's back."""


def _host_refused(what: str):
    raise StrictError(f"{what}: implicit device-to-host conversion (use backend.to_host)")


def _operand(x):
    """The numpy value behind an operand of a device expression (host arrays refused)."""
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, np.ndarray):
        raise StrictError(f"a host numpy array {x.dtype}{list(x.shape)} mixed with device arrays "
                          "(copy it with backend.to_device first)")
    if isinstance(x, (list, tuple)):
        return type(x)(_operand(v) for v in x)
    return x   # Python / numpy scalars, None, slices, dtypes


def _index(key):
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, list):
        raise StrictError("a Python list as an index of a device array (an implicit host-to-device copy)")
    return _operand(key)


def _wrap(x):
    if isinstance(x, np.ndarray):
        return StrictArray(x)
    if isinstance(x, np.generic):   # CuPy returns 0-d device arrays, never host scalars
        return StrictArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    return x


def raw(x):
    """The numpy array behind a device array (for the backend's kernel launches only)."""
    return x._a if isinstance(x, StrictArray) else x


def _check_sort_kind(kind, what: str, need_stable: bool):
    if kind not in (None, "stable"):
        raise StrictError(f"{what}(kind={kind!r}): CuPy accepts only kind=None or 'stable'")
    if need_stable and kind != "stable":
        raise StrictError(f"{what} without kind='stable': numpy's default is not stable, CuPy's is, "
                          "so ties would come out in a different order")


class StrictArray:
    """A device array of the strict module (see the module docstring)."""
    __slots__ = ("_a",)
    __array_ufunc__ = None      # numpy operators defer to ours; np.<ufunc>(device array) raises
    __array_priority__ = 1000

    def __init__(self, a: np.ndarray):
        self._a = a

    # -- what CuPy would not convert implicitly ---------------------------------------
    def __array__(self, dtype=None, copy=None):
        _host_refused("np.asarray / np.array of a device array")

    def __iter__(self):
        _host_refused("iterating over a device array")

    def tolist(self):
        _host_refused(".tolist() of a device array")

    def get(self, *a, **k):
        _host_refused(".get() of a device array")

    def tobytes(self, *a, **k):
        _host_refused(".tobytes() of a device array")

    def _scalar(self, conv, what):
        # CuPy converts a 0-d array (a synchronisation and a copy of its bytes to the host),
        # which the backend would not count: only backend.scalar reads a device value
        if self._a.ndim != 0:
            raise StrictError(f"{what}() of a device array of shape {self._a.shape} (only a 0-d array "
                              "converts to a Python scalar, through backend.scalar)")
        raise StrictError(f"{what}() of a 0-d device array: an uncounted device-to-host read "
                          "(use backend.scalar, which counts it)")

    def __int__(self):
        return self._scalar(int, "int")

    def __float__(self):
        return self._scalar(float, "float")

    def __bool__(self):
        return self._scalar(bool, "bool")

    def item(self):
        return self._scalar(lambda a: a.item(), "item")

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return f"StrictArray({self._a!r})"

    # -- attributes and methods shared by numpy and CuPy -------------------------------
    size = property(lambda self: self._a.size)
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    T = property(lambda self: StrictArray(self._a.T))

    def astype(self, dtype, copy=True):
        return StrictArray(self._a.astype(dtype, copy=copy))

    def copy(self):
        return StrictArray(self._a.copy())

    def view(self, dtype):
        return StrictArray(self._a.view(dtype))

    def reshape(self, *shape):
        return StrictArray(self._a.reshape(*shape))

    def ravel(self):
        return StrictArray(self._a.ravel())

    def fill(self, value):
        self._a.fill(_operand(value))

    def sort(self, axis=-1, kind=None):
        _check_sort_kind(kind, "sort", need_stable=False)
        self._a.sort(axis=axis)

    def argsort(self, axis=-1, kind=None):
        _check_sort_kind(kind, "argsort", need_stable=True)
        return StrictArray(self._a.argsort(axis=axis, kind="stable"))

    def repeat(self, repeats, axis=None):
        return StrictXP.repeat(self, repeats, axis)

    def _reduce(name):
        def f(self, *a, **k):
            return _wrap(getattr(self._a, name)(*_operand(a), **{n: _operand(v) for n, v in k.items()}))
        f.__name__ = name
        return f

    sum = _reduce("sum")
    max = _reduce("max")
    min = _reduce("min")
    any = _reduce("any")
    all = _reduce("all")
    cumsum = _reduce("cumsum")
    argmax = _reduce("argmax")
    argmin = _reduce("argmin")
    nonzero = _reduce("nonzero")
    del _reduce

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, (list, tuple)):
            raise StrictError("a Python sequence assigned into a device array (an implicit copy)")
        self._a[_index(key)] = _operand(value)


def _binary(op, reflected=False):
    def f(self, other):
        o = _operand(other)
        return _wrap(op(o, self._a) if reflected else op(self._a, o))
    return f


def _inplace(op):
    def f(self, other):
        op(self._a, _operand(other))
        return self
    return f


for _name in ("add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "lshift", "rshift", "and", "or", "xor"):
    _op = getattr(operator, _name + "_") if _name in ("and", "or") else getattr(operator, _name)
    setattr(StrictArray, f"__{_name}__", _binary(_op))
    setattr(StrictArray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(StrictArray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(StrictArray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "invert", "abs"):
    setattr(StrictArray, f"__{_name}__", (lambda op: lambda self: StrictArray(op(self._a)))(getattr(operator, _name)))
StrictArray.__hash__ = None


def _forward(name):
    fn = getattr(np, name)

    def f(*args, **kwargs):
        return _wrap(fn(*_operand(args), **{k: _operand(v) for k, v in kwargs.items()}))
    f.__name__ = name
    return staticmethod(f)


class StrictXP:
    """The strict array module (use the class itself: ``xp = StrictXP``)."""
    __name__ = "engine.gpu.strict_xp"

    # creation: shapes and dtypes only, never host data
    for _n in ("empty", "zeros", "ones", "full", "arange", "empty_like", "zeros_like", "ones_like",
               "full_like"):
        locals()[_n] = _forward(_n)
    # computation on device arrays
    for _n in ("diff", "where", "cumsum", "concatenate", "searchsorted", "flatnonzero", "maximum",
               "minimum", "bincount", "ascontiguousarray", "count_nonzero", "nonzero", "stack",
               "logical_and", "logical_or", "logical_not", "abs", "clip", "take", "isin"):
        locals()[_n] = _forward(_n)
    del _n

    @staticmethod
    def asarray(a, dtype=None):
        """A device array as is (or cast); host data is refused: ``backend.to_device`` copies it."""
        if not isinstance(a, StrictArray):
            raise StrictError(f"xp.asarray of host data ({type(a).__name__}): copy it with "
                              "backend.to_device, which counts the bytes")
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)

    @staticmethod
    def repeat(a, repeats, axis=None):
        if isinstance(repeats, (StrictArray, np.ndarray)):
            raise StrictError("repeat with an array of repeats: CuPy before 14.1 takes only an int "
                              "or a sequence (locate items by searchsorted on the offsets instead)")
        return _wrap(np.repeat(_operand(a), repeats, axis))

    @staticmethod
    def argsort(a, axis=-1, kind=None):
        return a.argsort(axis=axis, kind=kind)

    @staticmethod
    def sort(a, axis=-1, kind=None):
        _check_sort_kind(kind, "sort", need_stable=False)
        return StrictArray(np.sort(_operand(a), axis=axis))

    @staticmethod
    def unique(a, return_index=False, return_inverse=False, return_counts=False):
        return _wrap(np.unique(_operand(a), return_index=return_index, return_inverse=return_inverse,
                               return_counts=return_counts))
