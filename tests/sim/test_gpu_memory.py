"""The GPU memory budget: given to the backend, by --gpu-memory, or by CORPUS_GPU_MEMORY;
bad sizes refused in one line naming the option."""
import pytest
from typer.testing import CliRunner

from engine import backend as B
from engine.cli import app
from engine.errors import ParameterError


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv("CORPUS_GPU_MEMORY", raising=False)
    yield
    B.set_gpu_memory(None)


def test_budget_sources_in_order(monkeypatch):
    assert B.GPUBackend(simulated=True).memory_budget() is None          # no device to ask
    monkeypatch.setenv("CORPUS_GPU_MEMORY", "3GB")
    assert B.GPUBackend(simulated=True).memory_budget() == 3 << 30
    B.set_gpu_memory("2GB")
    assert B.GPUBackend(simulated=True).memory_budget() == 2 << 30
    assert B.GPUBackend(simulated=True, memory="512MB").memory_budget() == 512 << 20
    assert B.get_backend("gpu", gpu_memory=1 << 30).memory_budget() == 1 << 30
    assert B.CPUBackend().memory_budget() is None


@pytest.mark.parametrize("bad", ["lots", "0", "-1GB", "1.2.3GB"])
def test_bad_sizes_refused(bad):
    with pytest.raises(ParameterError, match="gpu_memory must"):
        B.GPUBackend(simulated=True, memory=bad)
    r = CliRunner().invoke(app, ["--gpu-memory", bad, "info"])
    assert r.exit_code == 2 and "--gpu-memory must" in r.output and "Traceback" not in r.output


def test_cli_option_sets_the_default():
    r = CliRunner().invoke(app, ["--gpu-memory", "6GB", "info"])
    assert r.exit_code == 0, r.output
    assert B.GPUBackend(simulated=True).memory_budget() == 6 << 30
