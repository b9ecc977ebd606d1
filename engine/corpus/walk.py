"""Discovery of the corpus files: suffixes, kinds, folder walks (links, repeated files),
what is not a regular file."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.corpus.batch import CorpusError

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "text"


def _input_file(path: Path) -> os.stat_result:
    """The stat of a path given as input, or a one-line CorpusError why it cannot be read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise CorpusError(f"input path is a broken symlink: {path}") from None
        raise CorpusError(f"input path does not exist: {path}") from None
    except OSError as e:
        raise CorpusError(f"input path cannot be read: {path} ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CorpusError(f"input path is not a regular file or folder: {path} ({_file_type(st)})")
    return st


def _file_type(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


class _WalkMixin:
    """CorpusReader's discovery: the files to read, each once."""

    def _expand(self, paths) -> list[tuple[Path, str, int]]:
        """(path, id or relative name, size) of every file to read, each file once."""
        out, seen = [], set()
        for p in paths:
            path = Path(p)
            found = self._walk(path) if path.is_dir() else [(path, path.name, _input_file(path))]
            for f, rel, st in found:
                key = (st.st_dev, st.st_ino)   # the same file by another path, link or folder
                if key in seen:
                    self.stats.warn("same file given more than once (read once)", str(f))
                    continue
                seen.add(key)
                out.append((f, rel, st.st_size))
        if not out:   # an empty result would look like an empty corpus
            where = ", ".join(str(p) for p in paths)
            raise CorpusError(f"no corpus file found in {where} (folders are searched for "
                              f"{', '.join('*' + s for s in TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES)})")
        return out

    def _walk(self, folder: Path) -> list[tuple[Path, str, os.stat_result]]:
        """The corpus files under ``folder``, in path order; what is not a regular file
        is reported without being opened (opening a FIFO would wait forever)."""
        found, dirs_seen = [], set()

        def unreadable(e: OSError):
            self._bad(f"unreadable folder ({e.strerror})", str(e.filename))

        for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable, followlinks=True):
            try:
                st = os.stat(dirpath)
            except OSError as e:   # gone or locked since it was listed
                unreadable(e)
                dirnames[:] = []
                continue
            if (st.st_dev, st.st_ino) in dirs_seen:   # a symlink loop, or a second way in
                dirnames[:] = []
                continue
            dirs_seen.add((st.st_dev, st.st_ino))
            dirnames.sort()
            for name in filenames:
                f = Path(dirpath, name)
                st = self._regular_stat(f)
                if st is None or not name.lower().endswith(TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES):
                    continue
                if f.stem.lower() == "readme" and f.suffix.lower() in TEXT_SUFFIXES:
                    # a folder's README describes the corpus; it is not one of its documents
                    self.stats.skip("README, not a document", str(f))
                    continue
                found.append((f, f.relative_to(folder).as_posix(), st))
        return sorted(found, key=lambda item: item[0])

    def _regular_stat(self, f: Path) -> os.stat_result | None:
        """``f``'s stat if it is a regular file (through symlinks), else None, reported."""
        try:
            st = f.stat()
        except OSError as e:
            self._bad("broken symlink" if f.is_symlink() else f"unreadable ({e.strerror})", str(f))
            return None
        if not stat.S_ISREG(st.st_mode):
            self._bad(f"not a regular file ({_file_type(st)})", str(f))
            return None
        return st
