"""On a real GPU with cudf: the reader's device path (cuDF ingest) gives the host reader's
documents, skips, locations and warnings on the flawed files of tests/sim, the jobs give the
CPU's tables through it with less copied to the device, and the pinned copier's batches hold
the host batches' bytes (what tests/sim proves with stand-ins, here with cudf and cupy)."""
import numpy as np
import pytest

from engine.corpus import CorpusReader
from engine.gpu.transfer import PinnedCopier, staged
from tests.sim.jobs import JOBS, tables
from tests.sim.test_gpu_ingest import (
    CLEAN,
    CPU,
    DEVICE_FLAWS,
    GPU,
    HOST_FLAWS,
    _corpus,
    _docs,
    _lines,
    _write_jsonl,
)


def _files(tmp_path):
    import json
    clean = _write_jsonl(tmp_path / "clean.jsonl", [json.dumps(c).encode() + b"\n" for c in CLEAN])
    dev = _write_jsonl(tmp_path / "dev.jsonl", _lines(DEVICE_FLAWS))
    mixed = _write_jsonl(tmp_path / "mixed.jsonl", _lines(DEVICE_FLAWS + HOST_FLAWS[:-1]) + [HOST_FLAWS[-1]])
    return [clean, dev, mixed]


@pytest.mark.parametrize("chunk", [300, 1 << 20])
def test_cudf_reader_equals_host_reader(tmp_path, chunk):
    paths = _files(tmp_path)
    r = CorpusReader(paths, json_chunk_bytes=chunk).on_device(GPU)
    assert r.device is not None, r.stats.ingest_counters()
    assert _docs(r) == _docs(CorpusReader(paths, json_chunk_bytes=chunk))
    assert r.stats.ingest_counters()["ingest_cudf_pieces"] > 0


@pytest.mark.parametrize("job", list(JOBS))
def test_jobs_through_cudf_equal_cpu(tmp_path, job):
    paths = _corpus(tmp_path)
    mod, cfg = JOBS[job]
    cpu = mod.run(CorpusReader(paths), CPU, cfg)
    dev = mod.run(CorpusReader(paths), GPU, cfg)     # as_batches asks for cuDF on a GPU
    for tc, td in zip(tables(job, cpu), tables(job, dev)):
        assert td.equals(tc)
    assert dev.stats.counters["ingest"] == "cudf"
    # the JSONL chunks crossed twice (for the device check, then cuDF's own read of the file:
    # it takes no device buffer); beyond them, less than the text (Parquet's did not cross)
    jsonl = paths[0].stat().st_size
    assert 2 * jsonl <= dev.stats.host_to_device_bytes < 2 * jsonl + dev.stats.bytes


def test_pinned_copies_hold_the_batches(tmp_path):
    batches = list(CorpusReader(_corpus(tmp_path), batch_bytes=20_000))
    out = list(staged(batches, GPU, PinnedCopier(GPU)))
    assert len(out) == len(batches) > 2
    for b, d in zip(batches, out):
        assert np.array_equal(GPU.to_host(d.data), b.data) and np.array_equal(GPU.to_host(d.offsets), b.offsets)
