"""What a command writes: the targets of an output plan and the inputs they must not replace.

:class:`Target` is one file (the option that names it, the accepted extensions, whether it
is optional, whether its folder may be created); :func:`companion` and
:func:`folder_targets` make the files written beside an output or into a folder option;
:func:`run_inputs` lists the files a run reads.  ``engine.output`` plans and checks them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["FORMATS", "OutputError", "Target", "companion", "folder_targets", "run_inputs"]

FORMATS = (".parquet", ".csv", ".jsonl")


class OutputError(Exception):
    """An output cannot be written (bad extension, unwritable folder): one line for the user."""


@dataclass(frozen=True)
class Target:
    """One file a command will write.

    Parameters
    ----------
    option : str
        The command-line option named in error messages (``--output``).
    path : Path
        Where the file goes, as the user gave it.
    formats : tuple of str or None
        Accepted endings of the file name (``.parquet``...); None accepts any.
    key : str
        How the command refers to it in the plan (default: ``option``); a companion or a
        file of a folder option needs its own.
    note : str
        What the file is when it is not the option's path itself, for messages (``the
        vocabulary written beside m.npz``).
    optional : bool
        The command may end up not writing it (a plot with nothing to draw).
    make_folder : bool
        Create the missing folders above it (``--plots``) instead of failing.
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
    """A file written beside another output (cooc's ``<stem>.vocab.tsv`` beside ``<stem>.npz``).

    Parameters
    ----------
    option : str
        The option of the main output (named in messages).
    main : str or os.PathLike
        The main output's path.
    suffix : str
        Replaces ``main``'s extension (``.vocab.tsv``).
    what : str
        What the file is, for messages (``the vocabulary``).

    Returns
    -------
    Target
        Planned and checked like any output, under the key ``option + suffix``, any format.
    """
    main = Path(main)
    return Target(option, main.with_name(main.stem + suffix), formats=None, key=option + suffix,
                  note=f"{what} written beside {main}")


def folder_targets(option: str, folder: str | os.PathLike, names: Iterable[str]) -> list[Target]:
    """The files a folder option (``--plots``) may write.

    Parameters
    ----------
    option : str
        The folder option (named in messages).
    folder : str or os.PathLike
        The folder given; created (with missing parents) when the first file is written.
    names : iterable of str
        The file names the command may write there.

    Returns
    -------
    list of Target
        One optional target per name (a command writes those it has), under the key
        ``option/name``.
    """
    folder = Path(folder)
    return [Target(option, folder / name, formats=None, key=f"{option}/{name}", optional=True,
                   make_folder=True) for name in names]


def run_inputs(reader=None, *files: str | os.PathLike | None,
               stopwords: str | Iterable[str] | None = None) -> list[Path]:
    """The files a run reads, which no output may replace.

    Parameters
    ----------
    reader : engine.corpus.CorpusReader, optional
        Its expanded ``files`` are inputs.
    *files : str, os.PathLike or None
        Side inputs such as ``--signatures`` (None entries are ignored).
    stopwords : str or iterable of str, optional
        The ``--stopwords`` option (comma-separated) or its specs; those that name files
        are inputs, language codes are not.

    Returns
    -------
    list of Path
        Every input file, as given (the plan compares real paths and file identities).
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
