"""tests/gpu: the simulator's parity tests on a real GPU, with cupy arrays and compiled kernels.

Collected only where :func:`engine.backend.gpu_status` says a GPU is usable: elsewhere (CI,
a laptop, the CUDA simulator) these files are not collected at all, so nothing shows as
skipped that was never meant to run there.  ``make gpu-check`` runs them on a GPU machine.
"""
from pathlib import Path

from engine.backend import gpu_status

USABLE, WHY = gpu_status()
HERE = Path(__file__).resolve().parent
collect_ignore_glob = [] if USABLE else ["test_*.py"]


def pytest_ignore_collect(collection_path, config):
    # tests/conftest.py answers this first-result hook with False for every CPU file, which
    # would override collect_ignore_glob: answer for this folder first.
    p = Path(collection_path).resolve()
    if not USABLE and p.is_file() and p.parent == HERE and p.name.startswith("test_"):
        return True
    return None


def pytest_report_header(config):
    return f"tests/gpu: {'GPU ' + WHY if USABLE else 'not collected: ' + WHY}"
