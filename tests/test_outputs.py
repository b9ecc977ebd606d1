"""Outputs never destroy an input and never fail late (engine.output's planner, every command).

Each command checks all its outputs before the work: not an input (directly, through a
folder, a symbolic or a hard link), not an existing folder, not two outputs on one path,
a folder it can write in; a failure is one line and exit 1, and touches nothing. The
outputs of a run are renamed into place together at the end, or none is; temp files
carry the writer's pid and are removed by the next write once that process is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine import output
from engine.cli import app
from engine.output import OutputError, plan_outputs, remove_stale_temps, temp_name

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
runner = CliRunner()
TEMP = re.compile(r"^\..+\.corpus-engine-\d+-[0-9a-f]+\.tmp$")


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def lines(res) -> list[str]:
    return [line for line in res.output.splitlines() if line.strip()]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too) -> its bytes (None for a folder or a link)."""
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = None if p.is_dir() or p.is_symlink() else p.read_bytes()
    return out


def temps(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if p.name.endswith(".tmp")]


@pytest.fixture
def corpus(tmp_path) -> Path:
    """tmp/corpus: the seed articles as .txt, and the same as docs.jsonl and docs.parquet."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    texts = []
    for p in sorted(SEEDS.glob("*.txt")):
        shutil.copy(p, folder / p.name)
        texts.append((p.name, p.read_text(encoding="utf-8")))
    (folder / "docs.jsonl").write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                                               for i, t in texts), encoding="utf-8")
    pq.write_table(pa.table({"id": [i for i, _ in texts], "text": [t for _, t in texts]}),
                   folder / "docs.parquet")
    return folder


# command, option, the input file of the corpus fixture that option can be given (right extension)
OPTIONS = [
    ("ngrams", "--output", "docs.jsonl"),
    ("minhash", "--output", "docs.jsonl"),
    ("minhash", "--clusters", "docs.parquet"),
    ("minhash", "--dedup-output", "docs.jsonl"),
    ("minhash", "--save-signatures", "docs.parquet"),
    ("similarity", "--output", "docs.jsonl"),
    ("cooc", "--output", "docs.parquet"),
    ("analyze", "--report", "docs.jsonl"),
]
IDS = [f"{c}{o}" for c, o, _ in OPTIONS]


def _expect_refused(res, option: str, what: str) -> None:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    got = lines(res)
    assert len(got) == 1, got
    assert got[0].startswith(f"error: {option}: ") and what in got[0], got[0]


# ---------------------------------------------------------------------------- output = an input
@pytest.mark.parametrize("via", ["file", "folder", "symlink", "hardlink"])
@pytest.mark.parametrize("cmd,option,name", OPTIONS, ids=IDS)
def test_output_that_is_an_input_is_refused(tmp_path, corpus, cmd, option, name, via):
    src = corpus / name
    if via == "file":
        inp, out = src, src
    elif via == "folder":
        inp, out = corpus, corpus / name
    elif via == "symlink":  # the output path is a link to the input
        out = tmp_path / f"link{src.suffix}"
        out.symlink_to(src)
        inp = src
    else:  # another name of the same file
        out = tmp_path / f"hard{src.suffix}"
        os.link(src, out)
        inp = corpus
    before = tree(tmp_path)
    res = run(cmd, inp, option, out, "--device", "cpu", "-q")
    _expect_refused(res, option, "is an input of this run; choose another path")
    assert str(out) in res.output
    assert tree(tmp_path) == before, "an input changed or a file was created"


def test_input_given_through_a_symlink_is_protected(tmp_path, corpus):
    link = tmp_path / "in.jsonl"
    link.symlink_to(corpus / "docs.jsonl")
    before = tree(tmp_path)
    _expect_refused(run("ngrams", link, "-o", corpus / "docs.jsonl", "-q"), "--output", "is an input")
    assert tree(tmp_path) == before


def test_side_inputs_are_protected(tmp_path, corpus):
    """--signatures and a --stopwords file are inputs too; so is the file under cooc's vocab.tsv."""
    sig = tmp_path / "sig.parquet"
    sig.write_bytes(b"not read: refused before")
    stop = tmp_path / "stop.jsonl"
    stop.write_text("le\nla\n", encoding="utf-8")
    vocab = tmp_path / "m.vocab.tsv"
    vocab.write_text("le\n", encoding="utf-8")
    before = tree(tmp_path)
    _expect_refused(run("minhash", corpus, "--signatures", sig, "--save-signatures", sig, "-q"),
                    "--save-signatures", "is an input")
    _expect_refused(run("ngrams", corpus, "--stopwords", f"fr,{stop}", "-o", stop, "-q"),
                    "--output", "is an input")
    res = run("cooc", corpus, "--stopwords", vocab, "-o", tmp_path / "m.npz", "-q")
    _expect_refused(res, "--output", "(the vocabulary written beside")
    assert "m.vocab.tsv" in res.output
    assert tree(tmp_path) == before


def test_output_beside_the_inputs_is_fine(tmp_path, corpus):
    """An output inside an input folder is fine when that file is not read by the run."""
    out = corpus / "new.csv"
    res = run("ngrams", corpus, "-o", out, "-q")
    assert res.exit_code == 0, res.output
    assert out.is_file() and not temps(tmp_path)


# ---------------------------------------------------------------------------- what the path is
@pytest.mark.parametrize("cmd,option,name", OPTIONS, ids=IDS)
def test_output_that_is_a_folder_is_refused(tmp_path, corpus, cmd, option, name):
    out = tmp_path / "out"
    out.mkdir()
    before = tree(tmp_path)
    res = run(cmd, corpus / "docs.jsonl", option, out, "--device", "cpu", "-q")
    _expect_refused(res, option, "is an existing folder; give a file path")
    assert tree(tmp_path) == before


def test_folder_in_place_of_a_companion_or_the_plots(tmp_path, corpus):
    (tmp_path / "m.vocab.tsv").mkdir()
    _expect_refused(run("cooc", corpus, "-o", tmp_path / "m.npz", "-q"), "--output",
                    "m.vocab.tsv (the vocabulary written beside")
    (tmp_path / "plots").write_text("a file", encoding="utf-8")
    res = run("analyze", corpus, "--report", tmp_path / "r.html", "--plots", tmp_path / "plots", "-q")
    _expect_refused(res, "--plots", "is an existing file, not a folder")
    assert not (tmp_path / "r.html").exists() and not temps(tmp_path)


def test_not_a_regular_file_is_refused(tmp_path, corpus):
    """/dev/null would be replaced by the final rename, not written into."""
    _expect_refused(run("ngrams", corpus, "-o", "/dev/null", "-q"), "--output", "not a regular file")


@contextlib.contextmanager
def unwritable_folder(path: Path):
    """A folder nobody can create files in: 0555, and immutable when we run as root (root
    writes in a 0555 folder anyway); skips when the system offers no way to make one."""
    path.mkdir()
    path.chmod(0o555)
    immutable = False
    try:
        probe = path / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:  # root: permission bits do not stop it
            probe.unlink()
            immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0 \
                if shutil.which("chattr") else False
            if not immutable:
                pytest.skip("cannot make an unwritable folder here (root, no chattr +i)")
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


@pytest.mark.parametrize("cmd,args,option", [
    ("ngrams", ["-o", "x.csv"], "--output"),
    ("minhash", ["-o", "p.parquet"], "--output"),
    ("minhash", ["--dedup-output", "d.jsonl"], "--dedup-output"),
    ("minhash", ["--save-signatures", "s.parquet"], "--save-signatures"),
    ("similarity", ["-o", "m.npy"], "--output"),
    ("cooc", ["-o", "m.npz"], "--output"),
    ("analyze", ["--report", "r.html"], "--report"),
    ("analyze", ["--plots", "plots"], "--plots"),
])
def test_unwritable_folder_fails_before_the_work(tmp_path, corpus, cmd, args, option):
    with unwritable_folder(tmp_path / "ro") as ro:
        args = [args[0], ro / args[1]]
        if cmd == "analyze" and option == "--plots":
            args += ["--report", tmp_path / "r.html"]
        before = tree(tmp_path)
        res = run(cmd, corpus, *args, "--device", "cpu", "-q")
        _expect_refused(res, option, "is not writable")
        assert "documents" not in res.output, "the work ran"
        assert tree(tmp_path) == before


def test_planning_tries_the_folder_for_real(tmp_path, corpus, monkeypatch):
    """os.access says yes (as it does to root); the create-and-remove probe is what decides."""
    def refuse(folder, name):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(output.os, "access", lambda *a, **k: True)
    monkeypatch.setattr(output, "_create_temp", refuse)
    res = run("ngrams", corpus, "-o", tmp_path / "x.csv", "-q")
    _expect_refused(res, "--output", "is not writable (Permission denied); choose another path")
    monkeypatch.undo()
    real_access = os.access  # (os is shared: refuse writing only, typer checks reading)
    monkeypatch.setattr(output.os, "access", lambda p, mode, **k: not mode & os.W_OK and real_access(p, mode))
    _expect_refused(run("ngrams", corpus, "-o", tmp_path / "x.csv", "-q"), "--output", "is not writable")
    assert not (tmp_path / "x.csv").exists()


def test_read_only_system_folder(corpus):
    """/sys: os.access says yes to root, creating a file there fails."""
    try:
        os.close(os.open("/sys/.corpus-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except OSError:
        pass
    else:
        os.unlink("/sys/.corpus-probe")
        pytest.skip("/sys is writable here")
    _expect_refused(run("ngrams", corpus, "-o", "/sys/x.csv", "-q"), "--output", "is not writable")


# ---------------------------------------------------------------------------- two outputs, one path
def test_two_options_on_one_path(tmp_path, corpus):
    p = tmp_path / "p.parquet"
    _expect_refused(run("minhash", corpus, "--output", p, "--clusters", p, "-q"),
                    "--clusters", "is also written by --output; give each output its own path")
    link = tmp_path / "l.jsonl"
    link.symlink_to(tmp_path / "d.jsonl")  # dangling: the same file once written
    _expect_refused(run("minhash", corpus, "--output", tmp_path / "d.jsonl", "--dedup-output", link, "-q"),
                    "--dedup-output", "is also written by --output")
    plots = tmp_path / "plots"
    plots.mkdir()
    res = run("analyze", corpus, "--report", plots / "zipf.png", "--plots", plots, "-q")
    _expect_refused(res, "--plots", "is also written by --report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "l.jsonl", "plots"]
    assert list(plots.iterdir()) == []


def test_unsupported_extension_and_missing_folder_still_exit_1(tmp_path, corpus):
    _expect_refused(run("minhash", corpus, "--dedup-output", tmp_path / "d.csv", "-q"),
                    "--dedup-output", "unsupported extension '.csv'")
    _expect_refused(run("similarity", corpus, "-o", tmp_path / "m.npz", "-q"), "--output", "unsupported extension")
    _expect_refused(run("minhash", corpus, "--save-signatures", tmp_path / "no" / "s.parquet", "-q"),
                    "--save-signatures", "folder does not exist")


# ---------------------------------------------------------------------------- all or nothing
def _minhash_outputs(tmp_path):
    names = {"--output": "pairs.parquet", "--clusters": "clusters.csv",
             "--save-signatures": "sig.parquet", "--dedup-output": "kept.jsonl"}
    paths = {opt: tmp_path / "out" / name for opt, name in names.items()}
    (tmp_path / "out").mkdir()
    return paths, [str(a) for opt, p in paths.items() for a in (opt, p)]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_minhash_writes_all_outputs_or_none(tmp_path, corpus, monkeypatch, error):
    """The dedup output (written last) fails half way: no output appears, an older one is kept."""
    import engine.cli.minhash as mh  # the command calls write_dedup from there
    paths, args = _minhash_outputs(tmp_path)
    paths["--clusters"].write_text("old clusters\n", encoding="utf-8")
    real = mh.write_dedup
    seen = []

    def half_then_fail(corpus_factory, keep, path, plan=None):
        seen.append((plan.written(), paths["--output"].exists()))
        with open(plan.temp("--dedup-output"), "w", encoding="utf-8") as f:
            f.write('{"id": "half')
        raise error

    monkeypatch.setattr(mh, "write_dedup", half_then_fail)
    res = run("minhash", corpus, *args, "--device", "cpu", "-q")
    assert res.exit_code != 0
    assert seen == [(["--output", "--clusters", "--save-signatures"], False)], \
        "the other outputs must be written to temps, not renamed, before the dedup output is complete"
    if isinstance(error, KeyboardInterrupt):
        assert res.exit_code == 130 and "no partial output was written" in res.output
    else:   # one line, no traceback
        assert res.exit_code == 1 and "No space left on device" in res.output
        assert "Traceback" not in res.output
        assert [ln for ln in res.output.splitlines() if ln.startswith("error:")] == \
            ["error: No space left on device (no partial output was written)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clusters.csv"]
    assert paths["--clusters"].read_text(encoding="utf-8") == "old clusters\n"
    assert not temps(tmp_path)

    monkeypatch.setattr(mh, "write_dedup", real)
    res = run("minhash", corpus, *args, "--device", "cpu", "-q")
    assert res.exit_code == 0, res.output
    assert all(p.is_file() for p in paths.values()) and not temps(tmp_path)
    assert paths["--clusters"].read_text(encoding="utf-8").startswith('"doc_id"')


def test_analyze_failure_leaves_no_report_and_no_plots_folder(tmp_path, corpus, monkeypatch):
    import engine.report as rp
    real = rp.write_report
    seen = []

    def report_then_fail(data, path, plots_dir=None, plan=None):
        real(data, path, plots_dir, plan=plan)  # everything written to temps...
        seen.append(len(temps(tmp_path)))
        raise OSError(28, "No space left on device")  # ...and then something fails

    monkeypatch.setattr(rp, "write_report", report_then_fail)
    res = run("analyze", corpus, "--report", tmp_path / "r.html", "--plots", tmp_path / "p" / "q",
              "--device", "cpu", "-q")
    assert res.exit_code == 1 and "No space left on device" in res.output and seen[0] >= 5  # report + PNGs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"], "a file or the plots folder is left"


def test_cooc_npz_and_its_vocabulary_together(tmp_path, corpus, monkeypatch):
    from engine.cooc import CoocResult
    real = CoocResult.write_npz

    def fail_after(self, path, plan=None):
        real(self, path, plan=plan)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(CoocResult, "write_npz", fail_after)
    res = run("cooc", corpus, "-o", tmp_path / "m.npz", "--device", "cpu", "-q")
    assert res.exit_code == 1 and "Input/output error" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]
    monkeypatch.undo()
    res = run("cooc", corpus, "-o", tmp_path / "m.npz", "--device", "cpu", "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "m.npz", "m.vocab.tsv"]


def test_successful_outputs_leave_no_temp(tmp_path, corpus):
    out = tmp_path / "o"
    out.mkdir()
    for args in (["similarity", corpus, "-o", out / "m.npy"], ["similarity", corpus, "-o", out / "m.csv"],
                 ["analyze", corpus, "--report", out / "r.html", "--plots", out / "plots"]):
        res = run(*args, "--device", "cpu", "-q")
        assert res.exit_code == 0, res.output
    assert (out / "m.npy").is_file() and (out / "m.csv").is_file() and (out / "r.html").is_file()
    assert len(list((out / "plots").glob("*.png"))) >= 4
    assert not temps(tmp_path)


# ---------------------------------------------------------------------------- temp files
def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                       text=True, check=True)
    return int(p.stdout)


def test_temp_names_carry_tool_and_pid(tmp_path):
    name = temp_name("out.csv")
    assert TEMP.match(name) and f".out.csv.corpus-engine-{os.getpid()}-" in name
    with plan_outputs({"--output": tmp_path / "out.csv"}) as plan:
        tmp = plan.temp("--output")
        assert tmp.parent == tmp_path and tmp.name.startswith(f".out.csv.corpus-engine-{os.getpid()}-")
    assert not tmp.exists(), "not committed: removed"


def test_stale_temp_of_a_dead_process_is_removed_live_one_kept(tmp_path, corpus):
    dead = tmp_path / f".out.csv.corpus-engine-{_dead_pid()}-0badc0de.tmp"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = tmp_path / f".out.csv.corpus-engine-{sleeper.pid}-0badc0de.tmp"
        other = tmp_path / f".other.csv.corpus-engine-{_dead_pid()}-0badc0de.tmp"  # another target's
        for p in (dead, live, other):
            p.write_text("partial", encoding="utf-8")
        res = run("ngrams", corpus, "-o", tmp_path / "out.csv", "-q")
        assert res.exit_code == 0, res.output
        assert (tmp_path / "out.csv").is_file()
        assert not dead.exists(), "a dead process's temp is left"
        assert live.exists(), "a running process's temp was removed"
        assert other.exists(), "only the target's own temps are cleaned"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_stale_temps(tmp_path / "out.csv") == [live]


def test_sigkill_during_a_write_is_cleaned_by_the_next_write(tmp_path, corpus):
    target = tmp_path / "out.jsonl"
    code = (f"from engine.output import plan_outputs\n"
            f"plan = plan_outputs({{'--output': {str(target)!r}}})\n"
            f"open(plan.temp('--output'), 'w').write('half a row')\n"
            f"print('writing', flush=True)\n"
            f"import time; time.sleep(120)\n")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        left = temps(tmp_path)
        assert len(left) == 1 and f"-{child.pid}-" in left[0].name
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert temps(tmp_path) == left, "SIGKILL leaves the temp (nothing can run)"
    res = run("ngrams", corpus, "-o", target, "-q")
    assert res.exit_code == 0, res.output
    assert target.is_file() and not temps(tmp_path)


# ---------------------------------------------------------------------------- the library writers
def test_library_writers_use_the_same_checks(tmp_path, corpus):
    import numpy as np

    from engine.backend import get_backend
    from engine.corpus import CorpusReader
    from engine.minhash import load_signatures, save_signatures, write_dedup
    from engine.minhash import run as minhash_run
    from engine.output import atomic_path, write_table

    t = pa.table({"a": [1, 2]})
    with pytest.raises(OutputError, match="is an existing folder"):
        write_table(t, corpus)
    with pytest.raises(OutputError, match="--output: unsupported extension"):
        write_table(t, tmp_path / "t.xlsx")
    before = (corpus / "docs.jsonl").read_bytes()
    res = minhash_run(CorpusReader([corpus / "docs.jsonl"]), get_backend("cpu"))
    with pytest.raises(OutputError, match="--dedup-output: .* is an input of this run"):
        write_dedup(lambda: CorpusReader([corpus / "docs.jsonl"]), res.keep_new, corpus / "docs.jsonl")
    assert (corpus / "docs.jsonl").read_bytes() == before
    n = write_dedup(lambda: CorpusReader([corpus / "docs.jsonl"]), res.keep_new, tmp_path / "k.jsonl")
    assert n == len((tmp_path / "k.jsonl").read_text(encoding="utf-8").splitlines()) == int(np.sum(res.keep_new))
    save_signatures(res.sigs, tmp_path / "s.parquet")
    assert load_signatures(tmp_path / "s.parquet").n_docs == res.sigs.n_docs
    with pytest.raises(OutputError, match="--save-signatures: unsupported extension"):
        save_signatures(res.sigs, tmp_path / "s.csv")
    with atomic_path(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "a.bin").read_bytes() == b"x"
    assert not temps(tmp_path)


def test_commit_requires_every_planned_output(tmp_path):
    plan = plan_outputs({"--output": tmp_path / "a.csv", "--clusters": tmp_path / "b.csv"})
    with pytest.raises(RuntimeError, match="--clusters"), plan:
        plan.write_table("--output", pa.table({"x": [1]}))
        plan.commit()
    assert list(tmp_path.iterdir()) == []
