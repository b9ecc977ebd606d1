"""engine.warmup_plan: kernel plans round-trip numba's types, name the package's kernels as
they are now, and compile what they list (skipping what no longer matches)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core import types

from engine import warmup_plan

ROOT = Path(__file__).resolve().parents[1]

TYPES = [
    types.Array(types.uint8, 1, "C"), types.Array(types.int32, 2, "A"),
    types.Array(types.uint64, 3, "C", readonly=True), types.Array(types.float64, 1, "F", aligned=False),
    types.int64, types.uint32, types.float32, types.boolean, types.none,
    types.literal(True), types.literal(3), types.literal("right"),
    types.UniTuple(types.int64, 3), types.Tuple([types.int64, types.float64]),
    types.List(types.UniTuple(types.int64, 3), reflected=True), types.List(types.int32),
    types.Omitted(16), types.Omitted(None),
]


@pytest.mark.parametrize("t", TYPES, ids=str)
def test_types_round_trip_through_json(t):
    form = json.loads(json.dumps(warmup_plan.encode(t)))
    back = warmup_plan.decode(form)
    assert back == t and type(back) is type(t) and str(back) == str(t)


def test_a_type_without_a_form_is_refused():
    with pytest.raises(warmup_plan.Unsupported):
        warmup_plan.encode(types.DictType(types.int64, types.int64))


def test_the_analyze_plan_names_kernels_that_exist_with_signatures_that_decode():
    plan = warmup_plan.load("analyze")
    assert len(plan) > 20
    for e in plan:
        dispatcher = warmup_plan._dispatcher(e["kernel"])
        assert hasattr(dispatcher, "compile") and e["kernel"].startswith("kernels.")
        assert len(tuple(warmup_plan.decode(t) for t in e["sig"])) == len(e["sig"])


def test_compile_entries_skips_stale_entries_and_compiles_the_rest():
    from kernels.hashing import mix64
    good = warmup_plan.entry("kernels.hashing", "mix64", (types.uint64,))
    stale = [{"kernel": "kernels.hashing:no_such_kernel", "sig": good["sig"]},
             {"kernel": "kernels.hashing:mix64", "sig": [["scalar", "no-such-type"]]}]
    assert warmup_plan.compile_entries(stale + [good]) == 1
    assert (types.uint64,) in mix64.overloads


def test_the_analyze_plan_is_what_analyze_calls(tmp_path):
    # recorded again from the command (its kernels loaded or compiled, in call order)
    out = tmp_path / "plan.json"
    r = subprocess.run([sys.executable, "-m", "bench.jit_census", "--record-plan", str(out), "--",
                        "analyze", "seeds", "--no-report", "-q", "--device", "cpu"],
                       capture_output=True, text=True, timeout=900, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT), CORPUS_ENGINE_WARMUP="0"))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text()) == warmup_plan.load("analyze"), (
        "engine/warmup_plans/analyze.json is stale: python -m bench.jit_census --fresh --record-plan "
        "engine/warmup_plans/analyze.json -- analyze seeds --no-report -q --device cpu")
