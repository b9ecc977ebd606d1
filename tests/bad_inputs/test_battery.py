"""Issue 9's bad-input battery: every case of cases.py x the commands ngrams, minhash, cooc.

Each run asserts: the exit code; no traceback; the skips reported as ``skipped N (reason):
first-location`` (warnings as ``warning: ...``); the remaining documents' counts equal the
plain-Python references (ngrams --n 1, minhash --dedup-output / --clusters, cooc --window 2);
the input folder unchanged byte for byte with nothing added (hidden files included), and no
output (nor temp file) left when the command fails.

Cases that may crash the process (invalid UTF-8, misread encodings, corrupt Parquet) or hang
(FIFOs) run in a subprocess, all the commands of a case in one (tests/bad_inputs/driver.py).
"""
from pathlib import Path

import pytest

from tests.bad_inputs.cases import CASES, snapshot
from tests.bad_inputs.harness import check, command_line, invoke, run_group

PARAMS = [pytest.param(case, cmd, id=f"{case.klass}-{case.id}-{cmd}") for case in CASES for cmd in case.commands]

_groups: dict = {}


def _prepare(case, base: Path):
    indir = base / "in"
    indir.mkdir()
    built = case.build(indir)
    outdirs = {}
    for cmd in case.commands:
        outdirs[cmd] = base / f"out-{cmd}"
        outdirs[cmd].mkdir()
    return indir, built, outdirs


def _isolated(case, tmp_path_factory):
    if case.id not in _groups:
        base = tmp_path_factory.mktemp(case.id[:40])
        indir, built, outdirs = _prepare(case, base)
        before = snapshot(indir)
        runs = [{"key": cmd, "args": command_line(cmd, built, outdirs[cmd]), "indir": str(indir),
                 "outdir": str(outdirs[cmd])} for cmd in case.commands]
        _groups[case.id] = (built, before, outdirs, run_group(runs, case.timeout))
    return _groups[case.id]


@pytest.mark.parametrize("case,cmd", PARAMS)
def test_bad_input(case, cmd, tmp_path, tmp_path_factory):
    if case.isolate:
        built, before, outdirs, results = _isolated(case, tmp_path_factory)
        res, outdir = results[cmd], outdirs[cmd]
    else:
        indir, built, outdirs = _prepare(case, tmp_path)
        before = snapshot(indir)
        outdir = outdirs[cmd]
        res = invoke(command_line(cmd, built, outdir), indir, outdir)
    check(cmd, built.expect_for(cmd), res, before, outdir)
