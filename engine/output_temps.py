"""Temporary files of the outputs: their names, their exclusive creation, and the removal of
those a killed run left behind (``engine.output`` plans and commits through them).

A temp file is named ``.NAME.corpus-engine-<pid>-<random>.tmp`` beside its target NAME
and created private (0600, ``O_EXCL``); the commit gives it the umask's normal mode and
renames it onto NAME.  A run killed outright (SIGKILL) leaves its temp behind: the next
write to NAME removes it once process ``<pid>`` is gone (:func:`remove_stale_temps`).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

__all__ = ["TOOL", "temp_name", "remove_stale_temps", "create_temp", "normal_mode"]

TOOL = "corpus-engine"
# room for the tool's part of a temp name within the usual 255-byte limit on a file name
_NAME_ROOM = 180
_TEMP_TAIL = re.compile(r"(\d+)-[0-9a-f]+\.tmp")


def temp_name(name: str, pid: int | None = None) -> str:
    """The name of a temp file for the target file name ``name``.

    Parameters
    ----------
    name : str
        The target's file name (not its path); a long one is cut to leave room for the rest.
    pid : int, optional
        The process that owns the temp (default: this one).

    Returns
    -------
    str
        ``.NAME.corpus-engine-<pid>-<8 random hex digits>.tmp``.
    """
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
    """Remove the temp files of ``path`` left by processes that no longer run.

    Parameters
    ----------
    path : str or os.PathLike
        A target file; its folder is searched for temps named after it.

    Returns
    -------
    list of Path
        The temps removed (those of live processes, or of another user's, are kept).
    """
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


def create_temp(folder: Path, name: str) -> Path:
    """Create (exclusively, mode 0600) and close a new temp file for the target ``name`` in ``folder``.

    Parameters
    ----------
    folder : Path
        Where the target goes.
    name : str
        The target's file name.

    Returns
    -------
    Path
        The new, empty temp file.

    Raises
    ------
    OSError
        The folder cannot be written.
    """
    while True:
        tmp = folder / temp_name(name)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return tmp
        except FileExistsError:  # 32 random bits taken: draw again
            continue


def normal_mode() -> int:
    """The mode a new file gets from the process umask (``0o666 & ~umask``)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
