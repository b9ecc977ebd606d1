"""typer's option coercion without pydantic for the plain types ``corpus`` declares.

typer (0.2x) coerces every parameter through a pydantic ``TypeAdapter``: the first command
line imports pydantic (and its plugin loader, importlib.metadata, email...) and builds ~17
adapters, 0.08-0.1 s of every command for turning ``"100"`` into ``100``.  :func:`install`
puts a plain converter in front of it for ``str``, ``bool``, ``int``, ``float`` and ``Path`` options
(and lists of them) without range, parser or choice settings: a value in the plain form
(``"100"``, ``"0.5"``, ``"1e-3"``, any path) converts directly, exactly as pydantic would;
anything else (a typo, an unusual form) goes to typer's own coercion, built then, so its
conversions and error messages are unchanged.  Paths keep typer's checks (``exists`` and the
rest): only the ``str -> Path`` step, which typer hands to pydantic, is done here.

Only typer 0.29 (:data:`TESTED_TYPER`) is patched: the hooks are typer's private API, so any
other version keeps its own coercion (older typers use click's types, without pydantic).
"""
from __future__ import annotations

import re
from pathlib import Path

#: the str forms converted here; any other goes to typer's coercion (same result or its error)
_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})(?:[eE][-+]?[0-9]{1,3})?")


#: the typer minor version whose private ``_coercion`` API this module was written against
#: (tests/test_cli_coercion.py compares it with typer's own); any other keeps typer's coercion
TESTED_TYPER = "0.29."


class _NotPlain(Exception):
    """The value is not in a form converted here: typer's coercion decides."""


def _to_str(value):
    if isinstance(value, str):
        return value
    raise _NotPlain


def _to_bool(value):
    if type(value) is bool:
        return value
    raise _NotPlain


def _number(kind, form):
    """The converter to ``kind`` (int or float): a value of that type as it is, a str in the
    plain ``form`` parsed; anything else is typer's."""
    def convert(value):
        if type(value) is kind:
            return value
        if isinstance(value, str) and form.fullmatch(value):
            return kind(value)
        raise _NotPlain
    return convert


_to_int = _number(int, _INT)
_to_float = _number(float, _FLOAT)


def _plain_leaf(annotation, info):
    """The converter of a leaf annotation, or None when typer's coercion must do it."""
    if info.parser is not None or info.min is not None or info.max is not None or info.clamp:
        return None
    if annotation is str:
        return _to_str
    if annotation is bool:
        return _to_bool
    if annotation is int:
        return _to_int
    if annotation is float:
        return _to_float
    if annotation is Path and info.path_type is None:
        return "path"
    return None


def install() -> None:
    """Route typer's coercion of plain options through :func:`_plain_leaf`'s converters
    (idempotent; a no-op on typers without pydantic coercion)."""
    import typer
    if not typer.__version__.startswith(TESTED_TYPER):
        return   # typer's private coercion API changes between minor versions: use its own
    try:
        from typer import _coercion, core
        from typer._param_types import coerce_cli_path
        from typer._typing import get_args, get_origin
    except ImportError:
        return
    if getattr(core.build_runtime_param, "corpus_engine", False):
        return
    typers_own = _coercion.build_runtime_param

    class PlainRuntimeParam(_coercion.RuntimeParam):
        # a dataclass field-less subclass: the converter and typer's fallback as attributes
        def _coerce_value(self, value, param, ctx):
            try:
                if self._is_list:
                    if isinstance(value, (list, tuple)):
                        return [self._leaf(v, param, ctx) for v in value]
                    raise _NotPlain
                return self._leaf(value, param, ctx)
            except _NotPlain:
                return self._typers_own()._coerce_value(value, param=param, ctx=ctx)

        def _leaf(self, value, param, ctx):
            if self._convert != "path":
                return self._convert(value)
            if isinstance(value, str) and value:
                value = Path(value)
            elif not isinstance(value, Path):      # a Path default passes as it is
                raise _NotPlain
            return coerce_cli_path(value, self.parameter_info, path_type=Path, param=param, ctx=ctx)

        def _typers_own(self):
            own = self.__dict__.get("_own")
            if own is None:
                own = typers_own(self._descriptor)
                object.__setattr__(self, "_own", own)
            return own

    def build_runtime_param(descriptor):
        annotation, info = descriptor.annotation, descriptor.parameter_info
        is_list = get_origin(annotation) is list
        if is_list:
            args = get_args(annotation)
            annotation = args[0] if len(args) == 1 else None
        convert = None if descriptor.file_annotation is not None else _plain_leaf(annotation, info)
        if convert is None:
            return typers_own(descriptor)
        runtime = PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation)
        for name, value in (("_convert", convert), ("_is_list", is_list), ("_descriptor", descriptor)):
            object.__setattr__(runtime, name, value)
        return runtime

    build_runtime_param.corpus_engine = True
    core.build_runtime_param = build_runtime_param
