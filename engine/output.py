"""Result writers and the output planner every command writes through.

A command plans all its outputs before it does any work, then writes each to a
temporary file beside its target and renames them all into place at the end::

    reader = ctx.reader(paths, ...)                        # expands the paths, reads nothing
    plan = plan_outputs({"--output": output, "--clusters": clusters},
                        run_inputs(reader, stopwords=stopwords),
                        {"--output": FORMATS, "--clusters": FORMATS})   # OutputError: before the work
    with plan:                                             # any failure: every temp removed
        ...                                                # the work
        plan.write_table("--output", pairs)
        plan.write_table("--clusters", clusters)
        plan.commit()                                      # all renamed, or none

Planning refuses (one line, naming the option and the path): an unsupported
extension, a path that is an input of the run (same real path, or the same file
through a symbolic or hard link), a path two outputs share, an existing folder
or other non-regular file, a missing folder, a folder we cannot write in (tried
for real: as root ``os.access`` says yes to everything).

Temporary files are named ``.NAME.corpus-engine-<pid>-<random>.tmp``: a run
killed outright (SIGKILL) leaves one behind, and the next write to NAME removes
it once that process is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import pyarrow as pa

__all__ = ["write_table", "atomic_path", "check_output_path", "print_table", "OutputError",
           "FORMATS", "Target", "OutputPlan", "plan_outputs", "run_inputs", "companion",
           "folder_targets", "own_plan", "remove_stale_temps", "temp_name", "TOOL"]

FORMATS = (".parquet", ".csv", ".jsonl")
TOOL = "corpus-engine"
# room for the tool's part of a temp name within the usual 255-byte limit on a file name
_NAME_ROOM = 180
_TEMP_TAIL = re.compile(r"(\d+)-[0-9a-f]+\.tmp")


class OutputError(Exception):
    """An output cannot be written (bad extension, unwritable folder): one line for the user."""


# ---------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """One file a command will write.

    Parameters
    ----------
    option : the command-line option named in error messages (``--output``).
    path : where the file goes, as the user gave it.
    formats : accepted endings of the file name (``.parquet``...); None accepts any.
    key : how the command refers to it in the plan (default: ``option``); a
        companion or a file of a folder option needs its own.
    note : what the file is when it is not the option's path itself, for messages
        (``the vocabulary written beside m.npz``).
    optional : the command may end up not writing it (a plot with nothing to draw).
    make_folder : create the missing folders above it (``--plots``) instead of failing.
    """

    option: str
    path: Path
    formats: tuple[str, ...] | None = FORMATS
    key: str = ""
    note: str = ""
    optional: bool = False
    make_folder: bool = False

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        if self.formats is not None:
            object.__setattr__(self, "formats", tuple(self.formats))
        if not self.key:
            object.__setattr__(self, "key", self.option)

    @property
    def label(self) -> str:
        """The path as the user gave it, with what it is when that is not obvious."""
        return f"{self.path} ({self.note})" if self.note else str(self.path)


def companion(option: str, main: str | os.PathLike, suffix: str, what: str) -> Target:
    """A file written beside ``main`` (cooc's ``<stem>.vocab.tsv`` beside ``<stem>.npz``).

    It is planned and checked like any output, under the key ``option + suffix``.
    """
    main = Path(main)
    return Target(option, main.with_name(main.stem + suffix), formats=None, key=option + suffix,
                  note=f"{what} written beside {main}")


def folder_targets(option: str, folder: str | os.PathLike, names: Iterable[str]) -> list[Target]:
    """The files ``names`` a folder option (``--plots``) may write into ``folder``.

    Each is optional (a command writes those it has) under the key ``option/name``;
    the folder is created when the first one is written.
    """
    folder = Path(folder)
    return [Target(option, folder / name, formats=None, key=f"{option}/{name}", optional=True,
                   make_folder=True) for name in names]


def run_inputs(reader=None, *files: str | os.PathLike | None,
               stopwords: str | Iterable[str] | None = None) -> list[Path]:
    """The files a run reads, which no output may replace.

    Parameters
    ----------
    reader : a :class:`engine.corpus.CorpusReader` (its expanded ``files``), or None.
    files : side inputs such as ``--signatures`` (None entries are ignored).
    stopwords : the ``--stopwords`` option (comma-separated) or its specs; those
        that name files are inputs, language codes are not.
    """
    out = [Path(entry[0]) for entry in (getattr(reader, "files", None) or ())]
    out += [Path(f) for f in files if f is not None]
    if isinstance(stopwords, str):
        stopwords = stopwords.split(",")
    for spec in stopwords or ():
        spec = spec.strip()
        if spec and Path(spec).is_file():  # the test engine.text uses to tell a file from a code
            out.append(Path(spec))
    return out


# ---------------------------------------------------------------------------- temp files
def temp_name(name: str, pid: int | None = None) -> str:
    """The name of a temp file for the target ``name``: ``.NAME.corpus-engine-<pid>-<random>.tmp``."""
    pid = os.getpid() if pid is None else pid
    return f"{_temp_prefix(name)}{pid}-{secrets.token_hex(4)}.tmp"


def _temp_prefix(name: str) -> str:
    return f".{name[:_NAME_ROOM]}.{TOOL}-"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (when in doubt: yes, keep its file)."""
    if pid <= 0:
        return True
    if os.name != "posix":
        # on Windows os.kill(pid, 0) would send CTRL_C_EVENT, not probe
        try:
            import psutil
        except ImportError:
            return True
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temp files of ``path`` left by processes that no longer run; return them."""
    path = Path(path)
    prefix = _temp_prefix(path.name)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        m = _TEMP_TAIL.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if m and not _pid_alive(int(m[1])):
            with contextlib.suppress(FileNotFoundError):  # another run cleaned it first
                (path.parent / name).unlink()
                removed.append(path.parent / name)
    return removed


def _create_temp(folder: Path, name: str) -> Path:
    """Create (exclusively) and close a new temp file for ``name`` in ``folder``."""
    while True:
        tmp = folder / temp_name(name)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return tmp
        except FileExistsError:  # 32 random bits taken: draw again
            continue


def _normal_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# ---------------------------------------------------------------------------- the plan
class OutputPlan:
    """Checked outputs of one run, written to temp files and renamed together by :meth:`commit`.

    Built by :func:`plan_outputs`. Use it as a context manager: leaving the block
    without a commit (an error, Ctrl-C) removes every temp file and any folder it
    created, so no output, old or new, is half written.
    """

    def __init__(self, inputs: Iterable[str | os.PathLike] = ()):
        self._inputs = [Path(p) for p in inputs]
        self._input_reals = {os.path.realpath(p) for p in self._inputs}
        self._input_ids: set[tuple[int, int]] | None = None  # (device, inode), on first need
        self._targets: dict[str, Target] = {}
        self._writable: set[str] = set()
        self._temps: dict[str, Path] = {}
        self._made: list[Path] = []
        self._committed = False

    # -- planning --------------------------------------------------------------
    def add(self, target: Target) -> Target:
        """Check ``target`` against the inputs and the outputs planned so far, then plan it.

        Raises
        ------
        OutputError : the reason, one line naming the option and the path.
        """
        if target.key in self._targets:
            raise ValueError(f"output {target.key!r} planned twice")
        # what the path is comes before its extension: "is an input" says more than ".txt"
        self._check_kind(target)
        self._check_not_input(target)
        self._check_format(target)
        self._check_not_other_output(target)
        self._check_folder(target)
        self._targets[target.key] = target
        return target

    def _check_format(self, t: Target) -> None:
        if t.formats is not None and not t.path.name.lower().endswith(t.formats):
            raise OutputError(f"{t.option}: unsupported extension {t.path.suffix or '(none)'!r} for {t.path} "
                              f"(use {', '.join(t.formats)})")

    def _check_kind(self, t: Target) -> None:
        if t.path.is_dir():
            raise OutputError(f"{t.option}: {t.label} is an existing folder; give a file path")
        if t.path.exists() and not stat.S_ISREG(t.path.stat().st_mode):
            # a device or a pipe: the final rename would replace it, not write into it
            raise OutputError(f"{t.option}: {t.label} is not a regular file; choose another path")

    def _check_not_input(self, t: Target) -> None:
        same = os.path.realpath(t.path) in self._input_reals
        if not same and t.path.exists():  # a hard link has its own path: compare the files
            same = _file_id(t.path) in self._input_file_ids()
        if same:
            raise OutputError(f"{t.option}: {t.label} is an input of this run; choose another path")

    def _input_file_ids(self) -> set[tuple[int, int]]:
        if self._input_ids is None:
            self._input_ids = {i for i in map(_file_id, self._inputs) if i is not None}
        return self._input_ids

    def _check_not_other_output(self, t: Target) -> None:
        real = os.path.realpath(t.path)
        for o in self._targets.values():
            if real == os.path.realpath(o.path) or (t.path.exists() and o.path.exists()
                                                    and os.path.samefile(t.path, o.path)):
                by = o.option + (f" ({o.note})" if o.note else "")
                raise OutputError(f"{t.option}: {t.label} is also written by {by}; "
                                  "give each output its own path")

    def _check_folder(self, t: Target) -> None:
        folder = t.path.parent
        if t.make_folder:
            if folder.exists() and not folder.is_dir():
                raise OutputError(f"{t.option}: {folder} is an existing file, not a folder; "
                                  "choose another path")
            base = _nearest_existing(folder)
            if not base.is_dir():
                raise OutputError(f"{t.option}: cannot create folder {folder}: {base} is a file")
        else:
            if not folder.exists():
                raise OutputError(f"{t.option}: folder does not exist: {folder}")
            if not folder.is_dir():
                raise OutputError(f"{t.option}: {folder} is not a folder")
            base = folder
        self._check_writable(t, base)

    def _check_writable(self, t: Target, folder: Path) -> None:
        """Create and remove a temp file in ``folder``: the one test that holds as root too."""
        real = os.path.realpath(folder)
        if real in self._writable:
            return
        why = None if os.access(folder, os.W_OK | os.X_OK) else "permission denied"
        if why is None:
            try:
                _create_temp(folder, t.path.name).unlink()
            except OSError as e:
                why = e.strerror or type(e).__name__
        if why is not None:
            raise OutputError(f"{t.option}: cannot write {t.label}: folder {folder} is not writable "
                              f"({why}); choose another path")
        self._writable.add(real)

    # -- writing ---------------------------------------------------------------
    def __contains__(self, key: str) -> bool:
        return key in self._targets

    def __iter__(self) -> Iterator[Target]:
        return iter(self._targets.values())

    def path(self, key: str) -> Path:
        """The final path of output ``key``."""
        return self._targets[key].path

    def temp(self, key: str) -> Path:
        """The temp file to write output ``key`` into (created empty on first call).

        Stale temps of the same target (their process is gone) are removed first;
        a folder option's missing folders are created here.
        """
        if self._committed:
            raise RuntimeError("the outputs were already committed")
        if key in self._temps:
            return self._temps[key]
        t = self._targets[key]
        if t.make_folder:
            self._make_folders(t)
        remove_stale_temps(t.path)
        try:
            self._temps[key] = _create_temp(t.path.parent, t.path.name)
        except OSError as e:
            raise OutputError(f"{t.option}: cannot write {t.label}: {e.strerror or e}") from None
        return self._temps[key]

    def _make_folders(self, t: Target) -> None:
        missing = []
        folder = t.path.parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:  # made meanwhile: not ours to remove
                continue
            except OSError as e:
                raise OutputError(f"{t.option}: cannot create folder {t.path.parent}: "
                                  f"{e.strerror or e}") from None
            self._made.append(d)

    def write_table(self, key: str, table: pa.Table) -> Path:
        """Write ``table`` into output ``key``'s temp, in the format its extension names."""
        tmp = self.temp(key)
        _write_table_file(table, tmp, self.path(key).name.lower())
        return tmp

    def write_bytes(self, key: str, data: bytes) -> Path:
        tmp = self.temp(key)
        tmp.write_bytes(data)
        return tmp

    def write_text(self, key: str, text: str) -> Path:
        tmp = self.temp(key)
        tmp.write_text(text, encoding="utf-8")
        return tmp

    def written(self) -> list[str]:
        """Keys of the outputs written (to their temps) so far."""
        return list(self._temps)

    def commit(self) -> list[Path]:
        """Rename every written temp onto its target; return the paths, in plan order.

        Every planned output that is not optional must have been written.
        """
        if self._committed:
            return []
        missing = [k for k, t in self._targets.items() if not t.optional and k not in self._temps]
        if missing:
            raise RuntimeError(f"planned outputs not written: {', '.join(missing)}")
        keys = [k for k in self._targets if k in self._temps]
        for k in keys:  # the checks a rename could still trip on, before the first rename
            t = self._targets[k]
            if t.path.is_dir():
                raise OutputError(f"{t.option}: {t.label} is an existing folder; give a file path")
        mode = _normal_mode()  # the temps were created private (0600)
        for k in keys:
            os.chmod(self._temps[k], mode)
        for k in keys:
            # a rename is atomic; several are not: a failure here (rare: the checks above
            # passed) leaves the earlier ones done, and abort() removes the other temps
            os.replace(self._temps[k], self._targets[k].path)
            del self._temps[k]
        self._committed = True
        return [self._targets[k].path for k in keys]

    def abort(self) -> None:
        """Remove every temp written and the folders this plan created (when empty)."""
        for tmp in self._temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._temps.clear()
        for d in reversed(self._made):
            with contextlib.suppress(OSError):  # not empty: something else is in it, keep it
                d.rmdir()
        self._made.clear()

    def __enter__(self) -> "OutputPlan":
        return self

    def __exit__(self, *exc) -> bool:
        if not self._committed:
            self.abort()
        return False


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def plan_outputs(outputs: Mapping[str, str | os.PathLike | None],
                 inputs: Iterable[str | os.PathLike] = (),
                 formats: Mapping[str, Sequence[str] | None] | None = None, *,
                 extra: Iterable[Target] = ()) -> OutputPlan:
    """Check every output of a run before the work; return the plan to write them through.

    Parameters
    ----------
    outputs : option name -> path (None: the option was not given).
    inputs : the files the run reads (:func:`run_inputs`); no output may be one of them.
    formats : option name -> accepted extensions (None: any); default :data:`FORMATS`.
    extra : further targets: companions (:func:`companion`), folder files
        (:func:`folder_targets`).

    Raises
    ------
    OutputError : the first problem found, one line naming the option and the path.
    """
    formats = formats or {}
    plan = OutputPlan(inputs)
    for option, path in outputs.items():
        if path is not None:
            plan.add(Target(option, Path(path), formats.get(option, FORMATS)))
    for t in extra:
        plan.add(t)
    return plan


@contextlib.contextmanager
def own_plan(plan: OutputPlan | None, key: str, path, formats: Sequence[str] | None,
             inputs: Iterable[str | os.PathLike] = ()) -> Iterator[OutputPlan]:
    """For a writer usable alone or within a command's plan.

    With ``plan``, yield it (the command commits); else plan ``path`` alone as
    ``key``, yield that plan and commit it when the block succeeds.
    """
    if plan is not None:
        if key not in plan or os.path.realpath(plan.path(key)) != os.path.realpath(path):
            raise ValueError(f"{path} is not the output {key!r} of this plan")
        yield plan
        return
    with plan_outputs({key: path}, inputs, {key: formats}) as mine:
        yield mine
        mine.commit()


# ---------------------------------------------------------------------------- writers
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, option: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    with plan_outputs({option: path}, formats={option: None}) as plan:
        yield plan.temp(option)
        plan.commit()


def check_output_path(path: str | os.PathLike, formats=FORMATS, option: str = "--output") -> Path:
    """Fail early (before the work) on an output path we could not write (no input check)."""
    plan_outputs({option: path}, formats={option: formats})
    return Path(path)


def _write_table_file(table: pa.Table, dest: Path, name: str) -> None:
    """Write ``table`` to ``dest`` in the format the file name ``name`` ends with."""
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq
        pq.write_table(table, dest, compression="zstd")
    elif name.endswith(".csv"):
        import pyarrow.csv as pacsv
        pacsv.write_csv(table, dest)
    else:
        with open(dest, "w", encoding="utf-8") as f:
            for row in table.to_pylist():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_table(table: pa.Table, path: str | os.PathLike, option: str = "--output") -> Path:
    """Write ``table`` to ``path`` in the format its extension names, atomically."""
    with plan_outputs({option: path}) as plan:
        plan.write_table(option, table)
        plan.commit()
    return Path(path)


def print_table(table: pa.Table, title: str | None = None, console=None, max_rows: int = 50,
                float_digits: int = 4) -> None:
    """Render the first ``max_rows`` rows of ``table`` as a rich table."""
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    t = Table(title=title, show_lines=False)
    for name in table.column_names:
        numeric = pa.types.is_integer(table.schema.field(name).type) or pa.types.is_floating(table.schema.field(name).type)
        t.add_column(name, justify="right" if numeric else "left")
    for row in table.slice(0, max_rows).to_pylist():
        t.add_row(*[f"{v:.{float_digits}f}" if isinstance(v, float) else str(v) for v in row.values()])
    console.print(t)
    if table.num_rows > max_rows:
        console.print(f"[dim]... {table.num_rows - max_rows} more rows (use --output to write them all)[/dim]")
