"""engine.cli.coercion: plain options converted without pydantic, exactly as typer's own
coercion converts them (the oracle: typer's pydantic-based ``build_runtime_param``)."""
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

typer = pytest.importorskip("typer")
_coercion = pytest.importorskip("typer._coercion")   # typers before 0.2x: click's types, nothing to test
from typer._click.exceptions import BadParameter  # noqa: E402
from typer.models import ArgumentInfo, OptionInfo  # noqa: E402

from engine.cli import coercion  # noqa: E402

if not typer.__version__.startswith(coercion.TESTED_TYPER):
    pytest.skip(f"typer {typer.__version__}: engine.cli.coercion patches only {coercion.TESTED_TYPER}x "
                "(typer's own coercion runs)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]

coercion.install()
import typer.core as typer_core  # noqa: E402

ours = typer_core.build_runtime_param
typers_own = _coercion.build_runtime_param


def _coerce(build, annotation, value, info=None):
    desc = _coercion.resolve_type_descriptor(annotation, info or OptionInfo())
    try:
        return "ok", build(desc)._coerce_value(value, param=None, ctx=None)
    except BadParameter as e:
        return "error", e.message


VALUES = {
    int: ["0", "7", "-12", "007", "123456789012345678", "1_000", " 3", "+4", "1.0", "abc", "", "1e3", 5],
    float: ["0", "0.5", "-2.25", "1e-3", "1E5", ".5", "1.", "-.5", "3.14159265358979323846", "nan",
            "inf", "1_0.5", "x", 2.5],
    str: ["", "fr,en", "é", "1-3"],
    bool: [True, False],
    Path: ["x.parquet", "/tmp/a b/c.csv", ".", "-", Path("report.html")],
}


@pytest.mark.parametrize("annotation, value", [(a, v) for a, vs in VALUES.items() for v in vs])
def test_plain_values_convert_as_typers_own(annotation, value):
    got, want = _coerce(ours, annotation, value), _coerce(typers_own, annotation, value)
    assert repr(got) == repr(want) and type(got[1]) is type(want[1])   # repr: nan == nan


@pytest.mark.parametrize("value", [("a.txt", "b/"), ["seeds"], ()])
def test_lists_of_paths_as_typers_own(value):
    got = _coerce(ours, List[Path], value, ArgumentInfo())
    assert got == _coerce(typers_own, List[Path], value, ArgumentInfo())
    assert all(type(p) is type(Path()) for p in got[1])


def test_path_checks_stay_typers(tmp_path):
    missing = str(tmp_path / "missing")
    info = OptionInfo(exists=True)
    got = _coerce(ours, Path, missing, info)
    assert got[0] == "error" and got == _coerce(typers_own, Path, missing, info)


def test_range_settings_go_to_typers_own():
    info = OptionInfo(min=1, max=5)
    for v in ("0", "3", "9"):
        assert _coerce(ours, int, v, info) == _coerce(typers_own, int, v, info)


def _run(*args, **env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env), cwd=ROOT)


def test_a_command_line_parses_without_pydantic(tmp_path):
    # the command fails after parsing (no such input): every option was coerced by then
    code = ("import sys\nfrom engine.cli import app\n"
            "try:\n    app(['ngrams', 'missing.jsonl', '--top', '5', '--n', '1-2', '-q', '-o', "
            f"{str(tmp_path / 'x.csv')!r}], standalone_mode=False)\n"
            "except BaseException as e:\n    print(type(e).__name__)\n"
            "print('pydantic' in sys.modules)")
    r = _run("-c", code)
    assert r.stdout.split()[-1] == "False", r.stdout + r.stderr
    assert "missing.jsonl" in r.stderr


def test_a_bad_value_is_typers_usage_error():
    r = _run("-m", "engine.cli", "ngrams", "seeds", "--top", "ten", "-q")
    assert r.returncode == 2
    assert "Invalid value for '--top'" in r.stderr and "Traceback" not in r.stderr


def test_another_typer_version_keeps_its_own_coercion(monkeypatch):
    # the hooks are typer's private API: a version it was not written against is left alone
    monkeypatch.setattr(typer, "__version__", "0.30.0")
    monkeypatch.setattr(typer_core, "build_runtime_param", typers_own)
    coercion.install()
    assert typer_core.build_runtime_param is typers_own
