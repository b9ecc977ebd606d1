"""Runs several `corpus` command lines in this (separate) process, for the battery.

    python -m tests.bad_inputs.driver SPEC.json RESULTS.jsonl

SPEC: {"runs": [{"key": ..., "args": [...], "indir": ..., "outdir": ...}]}.  One result line is
appended (and flushed) per run, so the runs done before a crash are kept; a run that started
and never finished is the one that crashed or hung.
"""
import faulthandler
import json
import sys


def main(spec_path, results_path):
    faulthandler.enable()
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    from tests.bad_inputs.harness import invoke
    with open(results_path, "a", encoding="utf-8") as out:
        for run in spec["runs"]:
            out.write(json.dumps({"key": run["key"], "started": True}) + "\n")
            out.flush()
            res = invoke(run["args"], run["indir"], run["outdir"])
            res["key"] = run["key"]
            out.write(json.dumps(res) + "\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
