"""Running the CLI on a case (in this process or a subprocess) and checking what it did."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from tests.bad_inputs.cases import COMMON_ARGS, Expect, Skip, default_output_args, snapshot

ROOT = Path(__file__).resolve().parent.parent.parent
SKIP_RE = re.compile(r"^skipped (\d[\d,]*) \((.*?)\): ?(.*)$")
WARN_RE = re.compile(r"^warning:? (\d[\d,]*) \((.*?)\): ?(.*)$", re.I)


# ---------------------------------------------------------------------------- running
def invoke(args, indir, outdir) -> dict:
    """One command line through typer's CliRunner, in this process."""
    from typer.testing import CliRunner

    from engine.cli import app
    res = CliRunner().invoke(app, [str(a) for a in args])
    exc = None
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        exc = "".join(traceback.format_exception(*res.exc_info)) if res.exc_info else repr(res.exception)
    return {"code": res.exit_code, "output": res.output, "exc": exc,
            "snap": snapshot(Path(indir)), "out": snapshot(Path(outdir))}


def command_line(cmd, built, outdir: Path) -> list:
    extra = built.cmd_args.get(cmd)
    if extra is None:
        extra = default_output_args(cmd, outdir)
    return [cmd, *COMMON_ARGS, *[str(p) for p in built.inputs], *built.args, *extra]


def run_group(runs, timeout: float) -> dict:
    """The runs [{key, args, indir, outdir}] in one subprocess; {key: result}, where a run that
    did not complete gets {"crash": why}."""
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as t:
        spec, results = Path(t) / "spec.json", Path(t) / "results.jsonl"
        spec.write_text(json.dumps({"runs": runs}), encoding="utf-8")
        env = dict(os.environ)
        env.setdefault("NUMBA_CACHE_DIR", "/tmp/nbcache-h5")
        try:
            p = subprocess.run([sys.executable, "-m", "tests.bad_inputs.driver", str(spec), str(results)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            rc, tail = p.returncode, p.stdout.decode("utf-8", "replace")[-1500:]
            why = None if rc == 0 else f"the process died with exit status {rc}: {tail.strip()[-600:]!r}"
        except subprocess.TimeoutExpired as e:
            tail = (e.stdout or b"").decode("utf-8", "replace")[-600:]
            why = f"hung: killed after {timeout:.0f} s ({tail.strip()!r})"
        done = {}
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                if r.get("started"):
                    done[r["key"]] = {"crash": f"this run did not finish: {why or 'unknown'}"}
                else:
                    done[r["key"]] = r
    out = {}
    for run in runs:
        r = done.get(run["key"]) or {"crash": f"never ran: {why}"}
        if why and "crash" not in r:
            # the process crashed later (another run, or at exit): its memory was not sound
            r = dict(r, crash=f"a later run or the exit crashed the process: {why}")
        out[run["key"]] = r
    return out


# ---------------------------------------------------------------------------- checking
def _tail(output: str, n=1200) -> str:
    return output if len(output) <= n else "..." + output[-n:]


def _loc_ok(actual: str, expected: str, whole_file: bool) -> bool:
    actual = actual.strip()
    if whole_file:
        return re.search(r"(^|/)" + re.escape(expected) + r"($|:|\s|\)|,)", actual) is not None
    return actual == expected or actual.endswith("/" + expected)


def check_skips(output: str, exp: Expect):
    lines = [ln.strip() for ln in output.splitlines()]
    skips = []
    for ln in lines:
        m = SKIP_RE.match(ln)
        if m:
            skips.append((int(m.group(1).replace(",", "")), m.group(2), m.group(3), ln))
        elif ln.lower().startswith("skipped"):
            raise AssertionError(f"[skip-format] a skip line not of the form 'skipped N (reason): locations': {ln!r}")
    warnings = [ln for ln in lines if ln.lower().startswith("warning")]
    assigned = {i: [] for i in range(len(exp.skips))}
    for n, reason, locs, ln in skips:
        for i, s in enumerate(exp.skips):
            if re.search(s.rx, reason, re.I):
                assigned[i].append((n, locs, ln))
                break
        else:
            if not (exp.allow and re.search(exp.allow, reason, re.I)):
                raise AssertionError(f"[skip-unexpected] {ln!r}")
    for i, s in enumerate(exp.skips):
        got = assigned[i]
        if not got and s.either:
            hit = [w for w in warnings if re.search(s.rx, w, re.I) and _loc_ok_in(w, s)]
            if hit:
                continue
        if not got:
            raise AssertionError(f"[skip-missing] no 'skipped {s.count} (<{s.cat}: /{s.rx}/>): {s.first}...' line"
                                 + (" (nor a warning)" if s.either else ""))
        total = sum(n for n, _, _ in got)
        if total not in (s.count if isinstance(s.count, tuple) else (s.count,)):
            raise AssertionError(f"[skip-count] {s.cat}: {total} skipped, expected {s.count}: "
                                 f"{[ln for _, _, ln in got]}")
        firsts = [locs.split(", ")[0].removesuffix(" ...") for _, locs, _ in got]
        if not any(_loc_ok(f, s.first, s.whole_file) for f in firsts):
            raise AssertionError(f"[skip-location] {s.cat}: first location {firsts}, expected {s.first!r}: "
                                 f"{[ln for _, _, ln in got]}")
    for w in exp.warnings:
        hits = [ln for ln in warnings if re.search(w.regex, ln, re.I) and w.contains in ln]
        if not hits:
            raise AssertionError(f"[warning-missing] no 'warning: ...' line matching /{w.regex}/ naming "
                                 f"{w.contains or w.first!r}; warnings: {warnings}")
        if w.first is not None:
            ok = False
            for ln in hits:
                m = WARN_RE.match(ln)
                if m and int(m.group(1).replace(",", "")) == w.count and \
                        _loc_ok(m.group(3).split(", ")[0].removesuffix(" ..."), w.first, False):
                    ok = True
            if not ok:
                raise AssertionError(f"[warning-format] no 'warning: {w.count} (/{w.regex}/): {w.first}' line; "
                                     f"warnings: {hits}")


def _loc_ok_in(line: str, s: Skip) -> bool:
    return re.search(r"(^|/|\s)" + re.escape(s.first) + r"($|:|\s|\)|,|')", line) is not None


def read_table(path: Path) -> list:
    ext = path.suffix.lower()
    if ext == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path).to_pylist()
    # split on \n only: U+2028, U+0085... are valid raw inside JSON strings (str.splitlines splits there)
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").split("\n") if ln.strip()]


def _dict_diff(got: dict, exp: dict, n=4) -> str:
    missing = [k for k in exp if k not in got][:n]
    extra = [k for k in got if k not in exp][:n]
    wrong = [(k, got[k], exp[k]) for k in exp if k in got and got[k] != exp[k]][:n]
    return (f"{len(got)} rows, expected {len(exp)}; missing {missing}, unexpected {extra}, "
            f"wrong (got, expected) {wrong}")


def check_results(cmd: str, exp: Expect, outdir: Path):
    from tests import reference, reference_cooc
    texts = [t for _, t in exp.docs]
    if cmd == "ngrams":
        p = outdir / "ng.parquet"
        assert p.exists(), "[output-missing] ngrams wrote no --output"
        got = {(r["ngram"], int(r["n"])): (int(r["count"]), int(r["doc_freq"])) for r in read_table(p)}
        want = reference.word_ngram_counts(texts, (1,))
        assert got == want, "[counts] ngrams differ from the reference: " + _dict_diff(got, want)
    elif cmd == "minhash":
        p = outdir / "kept.jsonl"
        assert p.exists(), "[output-missing] minhash wrote no --dedup-output"
        got = [(r["id"], r["text"]) for r in read_table(p)]
        want = exp.kept if exp.kept is not None else exp.docs
        if got != want:
            first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            raise AssertionError(f"[kept] --dedup-output has {len(got)} documents, expected {len(want)}; "
                                 f"first difference at {first}: got {got[first:first + 1]!r}, "
                                 f"expected {want[first:first + 1]!r}")
        if exp.clusters is not None:
            cl = {(r["doc_id"], r["cluster"]) for r in read_table(outdir / "clusters.jsonl")}
            assert cl == exp.clusters, f"[clusters] {sorted(cl)} != expected {sorted(exp.clusters)}"
    else:
        p = outdir / "cooc.parquet"
        assert p.exists(), "[output-missing] cooc wrote no --output"
        got = {tuple(sorted((r["term_a"], r["term_b"]))): r["count"] for r in read_table(p)}
        _, rows = reference_cooc.table(reference_cooc.doc_tokens(texts), window=2, min_count=1)
        want = {(r["term_a"], r["term_b"]): r["count"] for r in rows}
        assert got == want, "[counts] cooc pairs differ from the reference: " + _dict_diff(got, want)


def check(cmd: str, exp: Expect, res: dict, before: dict, outdir: Path):
    """All the assertions of one run (in the order the report groups them)."""
    if res.get("crash"):
        raise AssertionError(f"[crash] {res['crash']}")
    out = res["output"]
    if res["exc"]:
        last = res["exc"].strip().splitlines()[-1]
        raise AssertionError(f"[traceback] exit {res['code']}, {last}\n{_tail(res['exc'], 2500)}")
    assert "Traceback" not in out, f"[traceback] in the output:\n{_tail(out)}"
    if res["code"] != exp.code:
        msg = " | ".join(ln.strip() for ln in out.splitlines() if ln.strip() and
                         (ln.lower().lstrip().startswith(("error", "skipped", "warning"))))[:400]
        raise AssertionError(f"[exit] exit code {res['code']}, expected {exp.code}: {msg or _tail(out, 300)!r}")
    after = res["snap"]
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        raise AssertionError(f"[inputs-changed] input folder changed (new, removed or modified): {changed}")
    if exp.code != 0:
        assert not res["out"], f"[stray-output] files created on failure: {sorted(res['out'])}"
        for rx in exp.error:
            assert re.search(rx, out, re.I), f"[message] /{rx}/ not in the output: {_tail(out, 500)!r}"
        if exp.one_line:
            ls = [ln for ln in out.splitlines() if ln.strip()]
            assert len(ls) == 1, f"[message] {len(ls)} output lines, expected one: {ls[:6]}"
    else:
        hidden = [k for k in res["out"] if Path(k).name.startswith(".")]
        assert not hidden, f"[stray-output] hidden temp files left: {hidden}"
    check_skips(out, exp)
    if exp.code == 0 and exp.docs is not None:
        check_results(cmd, exp, outdir)
