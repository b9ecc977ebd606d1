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

This module is the plan (:class:`OutputPlan`, :func:`plan_outputs`) and the one-file
writers built on it; beside it ``engine.output_targets`` (what a target is, the run's
inputs), ``engine.output_temps`` (temp names, creation, stale temps) and
``engine.output_formats`` (table file formats, console view).  Every name is importable
from here.
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import pyarrow as pa

from engine.output_formats import print_table, write_table_file
from engine.output_targets import FORMATS, OutputError, Target, companion, folder_targets, run_inputs
from engine.output_temps import TOOL, remove_stale_temps, temp_name
from engine.output_temps import create_temp as _create_temp  # a module global: tests replace it
from engine.output_temps import normal_mode as _normal_mode

__all__ = ["write_table", "atomic_path", "check_output_path", "print_table", "OutputError",
           "FORMATS", "Target", "OutputPlan", "plan_outputs", "run_inputs", "companion",
           "folder_targets", "own_plan", "remove_stale_temps", "temp_name", "TOOL"]


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

        Parameters
        ----------
        target : Target
            The file to plan (its ``key`` not planned yet).

        Returns
        -------
        Target
            ``target``.

        Raises
        ------
        OutputError
            The reason, one line naming the option and the path.
        ValueError
            ``target.key`` is already planned (a bug of the command, not of the user).
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

        Parameters
        ----------
        key : str
            A planned output.

        Returns
        -------
        Path
            The same temp for every call until :meth:`commit`.

        Raises
        ------
        OutputError
            The temp cannot be created (the folder became unwritable, the disk is full).
        RuntimeError
            The plan was already committed.
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

    def write_table(self, key: str, table: pa.Table, unique_strings: tuple = ()) -> Path:
        """Write a table into output ``key``'s temp.

        Parameters
        ----------
        key : str
            A planned output; its extension names the format (.parquet with zstd, .csv,
            .jsonl one row a line).
        table : pyarrow.Table
            What to write.
        unique_strings : tuple of str, optional
            String columns of distinct, mostly sorted values (stored to suit them in
            Parquet: :func:`engine.output_formats.write_table_file`).

        Returns
        -------
        Path
            The temp written (renamed onto the target by :meth:`commit`).
        """
        tmp = self.temp(key)
        write_table_file(table, tmp, self.path(key).name.lower(), unique_strings)
        return tmp

    def write_bytes(self, key: str, data: bytes) -> Path:
        """Write ``data`` into output ``key``'s temp; return the temp."""
        tmp = self.temp(key)
        tmp.write_bytes(data)
        return tmp

    def write_text(self, key: str, text: str) -> Path:
        """Write ``text`` (UTF-8) into output ``key``'s temp; return the temp."""
        tmp = self.temp(key)
        tmp.write_text(text, encoding="utf-8")
        return tmp

    def written(self) -> list[str]:
        """Keys of the outputs written (to their temps) so far."""
        return list(self._temps)

    def commit(self) -> list[Path]:
        """Rename every written temp onto its target.

        Returns
        -------
        list of Path
            The targets written, in plan order (empty when already committed).

        Raises
        ------
        RuntimeError
            A planned output that is not optional was not written (nothing is renamed).
        OutputError
            A target became a folder since planning (nothing is renamed).
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
    outputs : mapping of str to path or None
        Option name -> path (None: the option was not given).
    inputs : iterable of path, optional
        The files the run reads (:func:`run_inputs`); no output may be one of them.
    formats : mapping of str to sequence of str or None, optional
        Option name -> accepted extensions (None: any); default :data:`FORMATS`.
    extra : iterable of Target, optional
        Further targets: companions (:func:`companion`), folder files (:func:`folder_targets`).

    Returns
    -------
    OutputPlan
        Every output checked and planned; use it as a context manager.

    Raises
    ------
    OutputError
        The first problem found, one line naming the option and the path.
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
    """The plan a writer usable alone or within a command's plan writes through.

    Parameters
    ----------
    plan : OutputPlan or None
        The command's plan, which holds ``path`` as ``key`` (the command commits); None:
        ``path`` is planned alone here and committed when the block succeeds.
    key : str
        The output's key.
    path : str or os.PathLike
        The output's path.
    formats : sequence of str or None
        Accepted extensions when planned here.
    inputs : iterable of path, optional
        The run's inputs when planned here.

    Yields
    ------
    OutputPlan
        The plan to write ``key`` through.

    Raises
    ------
    ValueError
        ``plan`` does not hold ``path`` as ``key``.
    OutputError
        Planned here, and the path cannot be written.
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
    """A temporary file beside ``path``, renamed onto it only when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The target (any extension).
    option : str, optional
        The name used in error messages.

    Yields
    ------
    Path
        The temp to write.

    Raises
    ------
    OutputError
        ``path`` cannot be written (checked before the block runs).
    """
    with plan_outputs({option: path}, formats={option: None}) as plan:
        yield plan.temp(option)
        plan.commit()


def check_output_path(path: str | os.PathLike, formats=FORMATS, option: str = "--output") -> Path:
    """Fail early (before the work) on an output path that could not be written.

    Parameters
    ----------
    path : str or os.PathLike
        The output path.
    formats : sequence of str or None, optional
        Accepted extensions (default :data:`FORMATS`).
    option : str, optional
        The name used in error messages.

    Returns
    -------
    Path
        ``path`` (not compared with the run's inputs: :func:`plan_outputs` does that).

    Raises
    ------
    OutputError
        The reason, one line.
    """
    plan_outputs({option: path}, formats={option: formats})
    return Path(path)


def write_table(table: pa.Table, path: str | os.PathLike, option: str = "--output",
                unique_strings: tuple = ()) -> Path:
    """Write a table to a file, atomically.

    Parameters
    ----------
    table : pyarrow.Table
        What to write.
    path : str or os.PathLike
        Where: .parquet (zstd), .csv or .jsonl (one JSON object a line).
    option : str, optional
        The name used in error messages.
    unique_strings : tuple of str, optional
        String columns of distinct, mostly sorted values (:meth:`OutputPlan.write_table`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        ``path`` cannot be written (nothing is left behind).
    """
    with plan_outputs({option: path}) as plan:
        plan.write_table(option, table, unique_strings)
        plan.commit()
    return Path(path)
