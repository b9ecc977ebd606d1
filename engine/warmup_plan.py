"""Kernel plans: the kernels a command calls, each with its exact signature, in the order the
command reaches them, so that a warm-up worker (:mod:`engine.warmup`) can compile them from
the last to the first while the command compiles from the first: the two meet in the middle
instead of compiling the same kernels side by side.

A plan is recorded from a real run (``python -m bench.jit_census --record-plan FILE -- analyze
seeds --no-report -q``: the kernels of ``kernels.*`` called from Python, not their callees,
which compile inside them) and stored as JSON: ``[{"kernel": "module:qualname", "sig": [type,
...]}, ...]`` where a type is a small JSON form of a numba type (:func:`encode`).  A plan
can only make a first run faster, never change a result: an entry the kernels no longer have,
or whose signature they no longer take, is skipped (the command compiles what it calls, as
without a worker), and a kernel compiled from a plan is the one numba compiles for the call.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

PLANS = Path(__file__).resolve().parent / "warmup_plans"


class Unsupported(ValueError):
    """A numba type without a JSON form here (the entry is left out of the plan)."""


def _scalars() -> dict:
    from numba.core import types
    return {str(t): t for t in (*types.number_domain, types.boolean, types.none)}


def encode(t) -> list:
    """The JSON form of numba type ``t`` (arrays, scalars, literals, tuples, reflected lists)."""
    from numba.core import types
    if isinstance(t, types.Array):
        return ["array", encode(t.dtype), t.ndim, t.layout, not t.mutable, t.aligned]
    if isinstance(t, types.Literal):
        return ["literal", t.literal_value]
    if isinstance(t, types.UniTuple):
        return ["unituple", encode(t.dtype), t.count]
    if isinstance(t, types.Tuple):
        return ["tuple", [encode(e) for e in t.types]]
    if isinstance(t, types.Omitted) and isinstance(t.value, (bool, int, float, str, type(None))):
        return ["omitted", t.value]     # a default argument left out at the call
    if isinstance(t, types.List) and t.initial_value is None:
        return ["list", encode(t.dtype), t.reflected]
    if str(t) in _scalars() and _scalars()[str(t)] == t:
        return ["scalar", str(t)]
    raise Unsupported(f"no JSON form for numba type {t!r}")


def decode(j):
    """The numba type of JSON form ``j`` (:func:`encode`'s inverse)."""
    from numba.core import types
    kind, *args = j
    if kind == "array":
        dtype, ndim, layout, readonly, aligned = args
        return types.Array(decode(dtype), ndim, layout, readonly=readonly, aligned=aligned)
    if kind == "literal":
        return types.literal(args[0])
    if kind == "unituple":
        return types.UniTuple(decode(args[0]), args[1])
    if kind == "tuple":
        return types.Tuple([decode(e) for e in args[0]])
    if kind == "list":
        return types.List(decode(args[0]), reflected=args[1])
    if kind == "omitted":
        return types.Omitted(args[0])
    if kind == "scalar":
        return _scalars()[args[0]]
    raise Unsupported(f"unknown type form {j!r}")


def entry(module: str, qualname: str, sig) -> dict:
    """A plan entry of a kernel and its signature (numba types); Unsupported when one has no form."""
    return {"kernel": f"{module}:{qualname}", "sig": [encode(t) for t in sig]}


def dumps(entries: list[dict]) -> str:
    """A plan as JSON text, one entry a line (a reviewable diff when it is recorded again)."""
    return "[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n"


def load(name: str) -> list[dict]:
    """The entries of plan ``name`` (``engine/warmup_plans/NAME.json``; none when it is missing)."""
    try:
        return json.loads((PLANS / f"{name}.json").read_text())
    except (OSError, ValueError):
        return []


def _dispatcher(kernel: str):
    module, qualname = kernel.split(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def compile_entries(entries, reverse: bool = True) -> int:
    """Compile (or load from the cache) every entry, the last first; entries that no longer
    match the kernels are skipped.  Returns how many compiled or loaded."""
    done = 0
    for e in (reversed(entries) if reverse else entries):
        try:
            dispatcher = _dispatcher(e["kernel"])
            dispatcher.compile(tuple(decode(t) for t in e["sig"]))
        except Exception:   # noqa: BLE001  (a stale entry: the command compiles what it calls)
            continue
        done += 1
    return done


def held(entries) -> bool:
    """Whether this process holds every entry's kernel with its signature (called, so compiled
    or loaded: in the cache); False for an empty plan or one that no longer decodes."""
    if not entries:
        return False
    try:
        return all(tuple(decode(t) for t in e["sig"]) in _dispatcher(e["kernel"]).overloads for e in entries)
    except Exception:   # noqa: BLE001  (a stale plan: no marker, the worker runs again)
        return False
