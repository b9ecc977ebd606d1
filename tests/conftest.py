"""Test layout: tests/*.py on the CPU; tests/sim under NUMBA_ENABLE_CUDASIM=1; tests/ptx apart.

The simulator has to be on before numba is first imported, and PTX compilation
does not work under it, so each group runs in its own pytest process (see the
Makefile). A group collected in the wrong process is ignored here rather than
run wrongly.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def pytest_ignore_collect(collection_path, config):
    p = Path(collection_path)
    parts = p.relative_to(ROOT / "tests").parts if p.is_relative_to(ROOT / "tests") else ()
    if not parts:
        return None
    args = " ".join(str(a) for a in config.args)
    if parts[0] == "sim":
        return not _SIM
    if parts[0] == "ptx":
        return _SIM or "tests/ptx" not in args
    return _SIM and p.is_file()
