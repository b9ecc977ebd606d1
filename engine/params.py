"""One validator for every job's parameters.

Each check returns the value (normalised: an int, a float, a str) or raises
:class:`engine.errors.ParameterError` naming the parameter by its library name, what it
must be and what was given::

    perms = integer("perms", perms, minimum=1, maximum=4096)
    -> ParameterError("perms must be an integer >= 1 and <= 4096, got 0", param="perms")

The CLI shows the flag instead of the name (``--perms must be ...``). A bool is never an
integer here (``top=True`` is refused), although Python says ``isinstance(True, int)``.
"""
from __future__ import annotations

import math
from typing import Iterable

from engine.errors import ParameterError

__all__ = ["integer", "number", "choice", "flag", "ParameterError"]


def _bounds(minimum, maximum) -> str:
    parts = [f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else ""]
    return " and ".join(p for p in parts if p)


def _fail(name: str, must: str, value) -> ParameterError:
    return ParameterError(f"{name} must be {must}, got {value!r}", param=name)


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None,
            optional: bool = False) -> int | None:
    """Check an integer parameter.

    Parameters
    ----------
    name : str
        The parameter's library name (what an error names).
    value : object
        The value given: an ``int`` or a numpy integer (not a bool, a float or a string).
    minimum, maximum : int, optional
        Inclusive bounds.
    optional : bool, optional
        Whether None is accepted (and returned).

    Returns
    -------
    int or None
        ``value`` as a Python int.

    Raises
    ------
    ParameterError
        ``value`` is not an integer within the bounds.
    """
    if value is None and optional:
        return None
    must = "an integer" + (" " + _bounds(minimum, maximum) if _bounds(minimum, maximum) else "")
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy integers are fine; floats, strings and bools are not
        if not (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
            raise _fail(name, must, value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(name, must, value)
    return value


def number(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None, below: float | None = None, optional: bool = False) -> float | None:
    """Check a real-number parameter.

    Parameters
    ----------
    name : str
        The parameter's library name.
    value : object
        An int, a float or a numpy number (not a bool, not a string); NaN and infinities
        are refused.
    minimum, maximum : float, optional
        Inclusive bounds.
    above, below : float, optional
        Exclusive bounds.
    optional : bool, optional
        Whether None is accepted (and returned).

    Returns
    -------
    float or None
        ``value`` as a Python float.

    Raises
    ------
    ParameterError
        ``value`` is not a finite number within the bounds.
    """
    if value is None and optional:
        return None
    conds = [f">= {minimum}" if minimum is not None else "", f"> {above}" if above is not None else "",
             f"<= {maximum}" if maximum is not None else "", f"< {below}" if below is not None else ""]
    must = "a number" + "".join(f" {c}" if i == 0 else f" and {c}"
                                for i, c in enumerate(c for c in conds if c))
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        raise _fail(name, must, value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _fail(name, must, value) from None
    if (math.isnan(v) or math.isinf(v) or (minimum is not None and v < minimum)
            or (maximum is not None and v > maximum) or (above is not None and v <= above)
            or (below is not None and v >= below)):
        raise _fail(name, must, value)
    return v


def choice(name: str, value, choices: Iterable[str]) -> str:
    """Check a parameter that names one of a few choices.

    Parameters
    ----------
    name : str
        The parameter's library name.
    value : object
        The value given: a string, compared as given (no case folding).
    choices : iterable of str
        The accepted values (listed in the error).

    Returns
    -------
    str
        ``value``.

    Raises
    ------
    ParameterError
        ``value`` is not one of ``choices``.
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise _fail(name, "one of " + ", ".join(choices), value)
    return value


def flag(name: str, value) -> bool:
    """Check a yes / no parameter.

    Parameters
    ----------
    name : str
        The parameter's library name.
    value : object
        The value given: ``True`` or ``False`` (not 0 / 1, not a string).

    Returns
    -------
    bool
        ``value``.

    Raises
    ------
    ParameterError
        ``value`` is not a bool.
    """
    if not isinstance(value, bool):
        raise _fail(name, "True or False", value)
    return value
