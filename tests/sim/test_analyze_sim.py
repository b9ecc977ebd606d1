"""``corpus analyze``'s one pass on the (simulated) GPU: the consumers fed the GPU's tokens give
the CPU's figures exactly."""
import io

import numpy as np
from rich.console import Console

from engine.analyze import analyze_corpus

BASE = ("le conseil municipal a vote hier soir le budget de la ville pour l annee prochaine "
        "avec une hausse des depenses d investissement dans les ecoles et les transports")
TEXTS = [BASE, BASE.replace("hier soir", "mardi soir"), BASE + " selon le maire",
         "Straße ﬁn déjà vu « citation » 😀 日本語 Ｎｖｉｄｉａ", "e\u0301te\u0301 à la plage, le de la et",
         "le de la et the of", "court", "deux mots", BASE.replace("ecoles", "colleges"),
         "une autre phrase sans rapport avec le reste du corpus de test ici", BASE,
         "the city council voted the budget of the town for next year", "la ville et le budget de la ville",
         "conseil budget ville conseil budget ville"]


def _analyze(folder, device):
    # several batches, more documents than the all-pairs matrix: the streaming path
    from engine.corpus import CorpusReader
    return analyze_corpus(CorpusReader([folder], batch_bytes=512), device=device,
                          console=Console(file=io.StringIO(), width=200))


def test_gpu_pass_equals_cpu_pass(tmp_path):
    for i, t in enumerate(TEXTS):
        (tmp_path / f"d{i:02d}.txt").write_text(t + "\n", encoding="utf-8")
    cpu, gpu = _analyze(tmp_path, "cpu"), _analyze(tmp_path, "gpu")
    assert gpu.ngrams == cpu.ngrams and cpu.ngrams[1]
    assert np.array_equal(gpu.zipf_counts, cpu.zipf_counts) and gpu.zipf_words == cpu.zipf_words
    assert gpu.summary == {**cpu.summary, "seconds (n-grams)": gpu.summary["seconds (n-grams)"]}
    assert "error" not in gpu.minhash and gpu.minhash["summary"] == cpu.minhash["summary"]
    assert gpu.minhash["clusters"] == cpu.minhash["clusters"] and cpu.minhash["clusters"]
    assert "error" not in gpu.cooc and gpu.cooc["terms"] == cpu.cooc["terms"] and cpu.cooc["terms"]


def _report(data):
    """What the report shows of ``data`` (a ReportData), timings left out."""
    summary = {k: v for k, v in data.summary.items() if not k.startswith("seconds")}
    return {"summary": summary, "ngrams": data.ngrams, "zipf": (data.zipf_counts.tolist(), data.zipf_words),
            "languages": data.languages, "languages_note": data.languages_note, "skipped": data.skipped,
            "minhash": data.minhash, "cooc": data.cooc}


def test_gpu_pass_with_device_ingest_equals_cpu(tmp_path):
    """analyze on the GPU reads JSONL and Parquet through cuDF (the stand-in) into device
    batches, and every section equals the CPU's; the stats say the ingest was cuDF's and
    count the copies both ways."""
    from engine.backend import get_backend
    from engine.corpus import CorpusReader
    from engine.corpus.batch import DeviceBatch
    from tests.sim.corpora import jsonl_and_parquet, real_texts
    from tests.sim.cudf_standin import StandIn
    # short documents among long ones: the language guess reads each document's head only
    texts = real_texts(24) + TEXTS + ["   ", "court"]
    paths = jsonl_and_parquet(tmp_path, texts)
    options = {"batch_bytes": 20_000, "json_chunk_bytes": 30_000}
    console = Console(file=io.StringIO(), width=200)
    cpu = analyze_corpus(CorpusReader(paths, **options), device="cpu", console=console)
    gpu_be, fake = get_backend("gpu"), StandIn()
    reader = CorpusReader(paths, **options).on_device(gpu_be, fake)
    before = gpu_be.copied()
    gpu = analyze_corpus(reader, device=gpu_be, console=console)
    assert _report(gpu) == _report(cpu)
    assert cpu.ngrams[1] and cpu.minhash["clusters"] and cpu.cooc["terms"] and cpu.skipped
    assert len(cpu.languages) >= 2
    c = gpu.stats.counters
    assert c["ingest"] == "cudf" and c["ingest_cudf_documents"] == gpu.summary["documents"] > 40
    assert fake.json_calls > 1 and fake.parquet_calls > 1
    # the copies counted into the run's stats are the backend's, both ways; nothing on the CPU
    s = gpu.stats.as_dict()
    assert (s["host_to_device_bytes"], s["device_to_host_bytes"]) == tuple(
        a - b for a, b in zip(gpu_be.copied(), before))
    assert s["device_to_host_bytes"] > 0 and s["host_to_device_bytes"] > 0
    assert cpu.stats.as_dict()["device_to_host_bytes"] == cpu.stats.as_dict()["host_to_device_bytes"] == 0
    # the batches were device batches without a host copy behind them
    assert all(isinstance(b, DeviceBatch) and b.source is None
               for b in CorpusReader(paths, **options).on_device(gpu_be, StandIn()))


def test_analyze_on_gpu_asks_for_device_ingest(tmp_path):
    """A reader given to analyze on a GPU backend is asked to read through cuDF (under the
    simulator, without a cudf module, it reads on the host and the stats say why)."""
    from engine.backend import get_backend
    from engine.corpus import CorpusReader
    from tests.sim.corpora import write_jsonl
    p = write_jsonl(tmp_path / "t.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)])
    data = analyze_corpus(CorpusReader([p]), device=get_backend("gpu"), console=Console(file=io.StringIO()))
    c = data.stats.counters
    assert c["ingest"] == "host" and "CUDA simulator" in c["ingest_reason"]
    cpu = analyze_corpus(CorpusReader([p]), device="cpu", console=Console(file=io.StringIO()))
    assert "ingest" not in cpu.stats.counters and _report(data) == _report(cpu)


def test_language_guess_reads_each_document_alone():
    """The guess of a document reads its own first bytes only, never the next document's,
    and a device batch's guess equals its host batch's (only the heads come back)."""
    from engine.analyze_pass import LanguageGuess
    from engine.backend import get_backend
    from engine.corpus import batch_from_texts
    from engine.corpus.batch import DeviceBatch
    gpu = get_backend("gpu")
    texts = ["court", "le chat et la souris de la maison sont dans le jardin", "zq " * 6000 + "the of and",
             "é" * 2999 + " le de la " + "x" * 9000, "日本" * 1600 + " the"]
    host = batch_from_texts(texts)
    dev = DeviceBatch(host.doc_ids, gpu.to_device(host.data), gpu.to_device(host.offsets), 0, gpu, host.n_bytes)
    guesses = []
    for b in (host, dev):
        g = LanguageGuess()
        g.add(b)
        guesses.append(g.result())
    assert guesses[0] == guesses[1] == ({"fr": 1, "unknown": 4}, 5)
    before = gpu.copied()[1]
    LanguageGuess(max_docs=2).add(dev)    # the first two documents' bytes and offsets, no more
    # (and the sizes of the two gathers, read to allocate them: 8 bytes each)
    assert gpu.copied()[1] - before == sum(len(t.encode()) for t in texts[:2]) + 8 * 3 + 2 * 8
    # a long document: the bytes of its first 3,000 characters only (1, 2 and 3 bytes each)
    before = gpu.copied()[1]
    LanguageGuess().add(dev)
    heads = [len(t[:3000].encode()) for t in texts]
    assert heads[2:] == [3000, 2999 * 2 + 1, 9000]
    assert gpu.copied()[1] - before == sum(heads) + 8 * 6 + 2 * 8


def test_gpu_pass_ngrams_on_the_device_and_past_the_budget(tmp_path, monkeypatch):
    """On a GPU the pass counts n-grams in device tables (only the top rows come back: the
    d2h bytes stay far below the per-batch keys of the host tables); past a tiny device
    budget the tables move to the host mid-corpus: the same report data as the CPU's."""
    from engine.backend import GPUBackend
    from engine.corpus import CorpusReader
    for i, t in enumerate(TEXTS):
        (tmp_path / f"d{i:02d}.txt").write_text(t + "\n", encoding="utf-8")
    cpu = _report(_analyze(tmp_path, "cpu"))
    from engine.gpu import ngrams as device_ngrams
    moved, result = [], device_ngrams.DeviceNgramCounter.result
    monkeypatch.setattr(device_ngrams.DeviceNgramCounter, "result",
                        lambda self: moved.append(self.host is not None) or result(self))
    g = GPUBackend(simulated=True)
    g.memory = 3000    # bytes: below the parser's 1 MB floor, for a corpus this small
    data = analyze_corpus(CorpusReader([tmp_path], batch_bytes=512), device=g,
                          console=Console(file=io.StringIO(), width=200))
    assert _report(data) == cpu
    roomy = GPUBackend(simulated=True)
    on_device = analyze_corpus(CorpusReader([tmp_path], batch_bytes=512), device=roomy,
                               console=Console(file=io.StringIO(), width=200))
    assert _report(on_device) == cpu and moved == [True, False]
    assert on_device.stats.device_to_host_bytes < data.stats.device_to_host_bytes
