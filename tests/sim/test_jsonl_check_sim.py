"""The CUDA twin of the JSONL chunk check (kernels.cuda.jsonl_check, in the simulator) gives
every line the CPU twin's code, and engine.gpu.jsonl_check.chunk_flaw_device the CPU's
decision and reason, on a few dozen clean and mutated lines (the simulator runs every GPU
thread in Python: small inputs)."""
import random

import numpy as np
import pytest

from engine.backend import get_backend
from engine.gpu.jsonl_check import chunk_flaw_device, chunk_flaw_njit, device_patterns, field_pattern
from kernels.cpu.jsonl_check import line_flaws
from tests.test_jsonl_check import CLEAN, _mutated_line

GPU = get_backend("gpu")
TEXT, ID = field_pattern("text"), field_pattern("id")


def _chunk(seed: int, n: int, flawed: float) -> bytes:
    rng = random.Random(seed)
    lines = [_mutated_line(rng) if rng.random() < flawed else rng.choice(CLEAN) for _ in range(n)]
    return b"\n".join(lines) + (b"\n" if seed % 2 else b"")


@pytest.mark.parametrize("seed,flawed", [(0, 1.0), (1, 1.0), (2, 0.0), (3, 0.1)])
def test_cuda_kernel_equals_cpu_twin(seed, flawed):
    raw = _chunk(seed, 30, flawed)
    a = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(a == 10)
    n = int(ends.size) + (raw[-1:] != b"\n")
    text, ids = np.frombuffer(TEXT, np.uint8), np.frombuffer(ID, np.uint8)
    cpu = np.empty(n, np.int8)
    line_flaws(a, ends, np.int64(a.size), text, ids, cpu)
    dev = GPU.xp.empty(n, np.int8)
    GPU.kernels.jsonl_check.line_flaws(n, GPU.to_device(a), GPU.to_device(ends), np.int64(a.size),
                                       GPU.to_device(text), GPU.to_device(ids), dev)
    np.testing.assert_array_equal(GPU.to_host(dev), cpu)
    if flawed == 1.0:
        assert len(set(cpu.tolist()) - {0}) >= 3     # several rules broken, not one
    # the whole device path: newlines found on the device, one byte back
    before = GPU.copied()
    got = chunk_flaw_device(GPU, GPU.to_device(a), n, device_patterns(GPU, TEXT, ID))
    assert got == chunk_flaw_njit(bytearray(raw), len(raw), ends, TEXT, ID)
    assert (got[0] is None) == (flawed == 0.0)
    h2d, d2h = (x - y for x, y in zip(GPU.copied(), before))
    assert h2d == a.size + len(TEXT) + len(ID) and d2h == 1
