"""The CUDA co-occurrence kernels (in the simulator) equal the CPU twins exactly; so does the whole job."""
import numpy as np
import pytest

from engine.backend import CPUBackend, GPUBackend, get_backend
from engine.cooc import CoocConfig, run
from engine.corpus import batch_from_texts
from engine.text import TextOptions
from kernels import cooc_core as core
from kernels.cpu import cooc as kc
from kernels.cuda import cooc as kg

TEXTS = [
    "Nvidia et OpenAI : 10 gigawatts, 100 milliards de dollars pour OpenAI.",
    "OpenAI et Nvidia ; Nvidia Nvidia investit.",
    "",
    "les centres de données de Nvidia",
    "a",
    "Sam Altman (OpenAI) et Jensen Huang (Nvidia) : 10 gigawatts.",
]

GPU = get_backend("gpu")                            # the jobs' backend: strict array module
RAW = GPUBackend(simulated=True, strict=False)      # kernels launched on host arrays directly
RNG = np.random.default_rng(3)
IDS = RNG.integers(-1, 6, size=40).astype(np.int32)
DOC_OFF = np.array([0, 7, 7, 19, 20, 40], np.int64)
TOK_END = DOC_OFF[np.searchsorted(DOC_OFF, np.arange(IDS.size), side="right")]


def test_backend_is_simulated():
    assert GPU.name == "gpu" and GPU.simulated


def test_lookup_ids():
    hashes = RNG.integers(0, 2**63, size=30, dtype=np.int64).astype(np.uint64)
    vocab = np.unique(hashes[::2])
    ids = RNG.permutation(vocab.size).astype(np.int32)
    out = np.empty(hashes.size, np.int32)
    RAW.launch(kg.lookup_ids, hashes.size, vocab, ids, hashes, out)
    assert np.array_equal(out, kc.lookup_ids(vocab, ids, hashes))
    assert (out[::2] >= 0).all()


def _window_pairs_ref(window, wtab):
    """(pairs per token, keys, weights) from the shared scalar core, one token at a time."""
    counts = np.array([core.window_pairs(IDS, i, TOK_END[i], window, wtab, np.empty(0, np.uint64),
                                         np.empty(0, np.int64), 0, False) for i in range(IDS.size)], np.int64)
    keys, wts = np.empty(int(counts.sum()), np.uint64), np.empty(int(counts.sum()), np.int64)
    o = 0
    for i in range(IDS.size):
        o += core.window_pairs(IDS, i, TOK_END[i], window, wtab, keys, wts, o, True)
    return counts, keys, wts


@pytest.mark.parametrize("window,harmonic", [(1, False), (3, True)])
def test_window_pair_kernels(window, harmonic):
    wtab, _ = CoocConfig(window=window, weighting="harmonic" if harmonic else "none").weights()
    counts = np.empty(IDS.size, np.int64)
    RAW.launch(kg.window_pair_counts, IDS.size, IDS, TOK_END, np.int64(window), wtab,
               np.empty(1, np.uint64), np.empty(1, np.int64), counts)
    ref_counts, kc_, wc = _window_pairs_ref(window, wtab)
    assert np.array_equal(counts, ref_counts)
    off = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    kg_, wg = np.empty(total, np.uint64), np.empty(total, np.int64)
    cut = IDS.size // 3    # two chunks: tokens [0, cut) and [cut, n), each written from its own base
    for lo, hi in ((0, cut), (cut, IDS.size)):
        base = int(off[lo])
        end = int(off[hi]) if hi < IDS.size else total
        part_k, part_w = kg_[base:end], wg[base:end]
        RAW.launch(kg.window_pair_write, hi - lo, IDS, TOK_END, np.int64(window), wtab, np.int64(lo),
                   np.int64(hi), off, np.int64(base), part_k, part_w)
    assert total > 10 and np.array_equal(kg_, kc_) and np.array_equal(wg, wc)
    # and by hand: pairs at distance 1..window within a document, both ids kept
    want = [(min(IDS[i], IDS[j]), max(IDS[i], IDS[j]), wtab[j - i]) for i in range(IDS.size)
            for j in range(i + 1, min(i + window, TOK_END[i] - 1) + 1) if IDS[i] >= 0 and IDS[j] >= 0]
    got = [(int(k >> np.uint64(32)), int(k & np.uint64(0xFFFFFFFF)), int(w)) for k, w in zip(kg_, wg)]
    assert got == [(int(a), int(b), int(w)) for a, b, w in want]


@pytest.mark.parametrize("piece", [1, 2, 3, 100])
def test_doc_pair_kernel_in_pieces(piece):
    """Document rows (row r: ids r .. row_end[r]) cut in pieces of at most ``piece`` pairs, the
    pieces written in two chunks: every pair of every row, in row order, as written by hand."""
    from engine.cooc.backends import doc_pieces
    uids = np.array([0, 2, 5, 1, 3, 0, 1, 2, 3, 4], np.int32)
    row_end = np.array([3, 3, 3, 5, 5, 10, 10, 10, 10, 10], np.int64)
    prow, pq0, off = doc_pieces(CPUBackend(), row_end, piece)
    lens = np.diff(off)
    assert lens.max() <= piece and off[-1] == (row_end - np.arange(uids.size)).sum()
    total = int(off[-1])
    kg_, wg = np.empty(total, np.uint64), np.empty(total, np.int64)
    cut = prow.size // 2
    for lo, hi in ((0, cut), (cut, prow.size)):
        base, end = int(off[lo]), int(off[hi])
        RAW.launch(kg.doc_pair_write, hi - lo, uids, prow, pq0, np.int64(lo), np.int64(hi), off, np.int64(base),
                   kg_[base:end], wg[base:end])
    want = [(min(uids[r], uids[q]), max(uids[r], uids[q])) for r in range(uids.size) for q in range(r, row_end[r])]
    assert [divmod(int(k), 1 << 32) for k in kg_] == [(int(a), int(b)) for a, b in want] and (wg == 1).all()


@pytest.mark.parametrize("cfg", [CoocConfig(window=2, min_count=1), CoocConfig(window=3, weighting="harmonic", min_count=2),
                                 CoocConfig(window="doc", min_count=1)], ids=["w2", "w3-harmonic", "doc"])
def test_job_gpu_equals_cpu(cfg):
    b = batch_from_texts(TEXTS)
    c = run(b, "cpu", cfg)
    g = run(b, GPU, cfg)
    assert "simulator" in g.backend
    assert c.vocab == g.vocab and c.nnz > 5
    for name in ("a", "b", "raw", "term_count"):
        assert np.array_equal(getattr(c, name), getattr(g, name)), name
    if cfg.doc_mode:
        assert np.array_equal(c.doc_freq, g.doc_freq)
    assert c.table().equals(g.table())


@pytest.mark.parametrize("cfg", [CoocConfig(window=3, weighting="harmonic", min_count=1), CoocConfig(window="doc", min_count=1)],
                         ids=["w3-harmonic", "doc"])
def test_gpu_partitions_combine_like_one_cpu_run(cfg):
    # the contract's steps on the simulated GPU, 3 partitions, one of them counted on the CPU
    # (no dense block on the GPU: the combine goes through the sparse form)
    from engine.cooc import choose_vocabulary, combine, combine_vocabulary, finish, map_partition, map_vocabulary
    parts = [[batch_from_texts(TEXTS[a:b], base=a)] for a, b in ((0, 2), (2, 4), (4, 6))]
    backends = [GPU, "cpu", GPU]
    vocab = choose_vocabulary(combine_vocabulary([map_vocabulary(p, be, cfg) for p, be in zip(parts, backends)]), cfg)
    res = finish(combine([map_partition(p, be, cfg, vocab) for p, be in zip(parts, backends)]), cfg, vocab)
    one = run(batch_from_texts(TEXTS), "cpu", cfg)
    assert res.vocab == one.vocab and res.table().equals(one.table())
    for name in ("a", "b", "raw", "term_count"):
        assert np.array_equal(getattr(res, name), getattr(one, name)), name


@pytest.mark.parametrize("cfg", [CoocConfig(window=3, weighting="harmonic", min_count=1), CoocConfig(window="doc", min_count=1)],
                         ids=["w3-harmonic", "doc"])
def test_pairs_in_many_tiny_chunks_equal_cpu(cfg, monkeypatch):
    """Pair generation bounded to 7 pairs a chunk (plus one token's or one piece's): many
    chunks, each reduced and merged on the device, the same table as the CPU."""
    from engine.cooc import backends
    chunks = []
    push = backends.GPUPairs._push

    def counted(self, keys, wts):
        chunks.append(int(keys.size))
        push(self, keys, wts)
    monkeypatch.setattr(backends, "GPU_CHUNK_PAIRS", 7)
    monkeypatch.setattr(backends.GPUPairs, "_push", counted)
    b = batch_from_texts(TEXTS)
    g = run(b, GPU, cfg)
    c = run(b, "cpu", cfg)
    bound = 7 + (cfg.window if not cfg.doc_mode else len(c.vocab))
    assert len(chunks) >= 8 and max(chunks) <= bound
    assert sum(chunks) >= c.nnz
    assert c.table().equals(g.table())
    for name in ("a", "b", "raw", "term_count"):
        assert np.array_equal(getattr(c, name), getattr(g, name)), name


# -- device-resident job: the top chosen on the device, the budget, the measure kernel ------
CONFIGS = [CoocConfig(window=2, min_count=1), CoocConfig(window=3, weighting="harmonic", min_count=1),
           CoocConfig(window="doc", min_count=1), CoocConfig(window=2, min_count=1, max_vocab=6),
           CoocConfig(window=4, min_count=1, text=TextOptions(stopwords=("fr",)))]
CONFIG_IDS = ["w2", "w3-harmonic", "doc", "max-vocab-6-ties-at-the-cut", "w4-stopwords"]


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("measure", ["count", "pmi", "ppmi", "npmi", "llr"])
def test_top_rows_chosen_on_the_device_equal_cpu(cfg, measure):
    """``table(measure, top)`` below the number of pairs: measure, selection (ties at the
    top's last value included) and order on the device, the rows' measures recomputed on the
    host; the pairs themselves never come to the host."""
    b = batch_from_texts(TEXTS)
    c, g = run(b, "cpu", cfg), run(b, GPU, cfg)
    for top in (1, 4, c.nnz // 2, c.nnz - 1):
        assert g.table(measure, top).equals(c.table(measure, top), check_metadata=True), top
    assert "raw" not in vars(g) and "vocab" not in vars(g)
    assert g.summary() == c.summary().replace(c.backend, g.backend)
    assert g.table(measure).equals(c.table(measure))        # every row: the pairs come to the host
    assert "raw" in vars(g) and g.vocab == c.vocab


def test_measure_kernel_equals_cpu_kernel():
    """The CUDA twin of ``measure_rows`` (few threads: the grid-stride loop) equals the CPU kernel."""
    from kernels.cuda import cooc_measures as km
    big = TEXTS * 3
    for cfg in CONFIGS:
        res = run(batch_from_texts(big), "cpu", cfg)
        m, t = res._margins()
        for name, code in km_codes().items():
            out = np.empty(res.nnz, np.float64)
            RAW.launch(km.measure_rows, 7, np.int64(code), res.a, res.b, res.raw, np.ascontiguousarray(m, np.int64),
                       np.int64(t), np.int64(res.divisor), not cfg.doc_mode, out)
            want = (res.counts() / 1.0 if name == "count" else res.measure(name)).astype(np.float64)
            assert np.array_equal(out, want), name   # the same operations, in the same order


def km_codes():
    from engine.gpu.cooc_result import MEASURE_CODES
    return MEASURE_CODES


def _batches():
    return [batch_from_texts(TEXTS[i:i + 2], base=i) for i in (0, 2, 4)]


def _assert_same(c, g):
    assert c.vocab == g.vocab
    for name in ("a", "b", "raw", "term_count"):
        assert np.array_equal(getattr(c, name), getattr(g, name)), name
    assert c.table().equals(g.table()) and c.table(None, 3).equals(g.table(None, 3))


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
def test_past_the_budget_in_pass_1_the_host_path_takes_over(cfg):
    """A device budget of 64 bytes: after the first batch the type table and token cache move
    to the host, the other batches go the host-table way; the same result as the CPU."""
    be = GPUBackend(simulated=True, memory="1MB")
    be.memory_budget = lambda: 64
    g, c = run(_batches(), be, cfg), run(_batches(), "cpu", cfg)
    assert g.stats.counters["device_types_moved_to_host"] > 0 and "strict" in g.backend
    _assert_same(c, g)


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
def test_past_the_budget_in_pass_2_pairs_spill_to_the_host(cfg, monkeypatch):
    """Pass 1 within the budget, pair runs over it after every batch: merged into the host run."""
    from engine.cooc import backends
    monkeypatch.setattr(backends.GPUPairs, "nbytes", property(lambda self: 1 << 40))
    be = GPUBackend(simulated=True, memory="1GB")
    g, c = run(_batches(), be, cfg), run(_batches(), "cpu", cfg)
    assert g.stats.counters["pair_spills"] == 3
    assert "device_types_moved_to_host" not in g.stats.counters
    _assert_same(c, g)


@pytest.mark.parametrize("top,width", [(0, 1), (255, 1), (256, 2), (70_000, 3), (1 << 40, 6), ((1 << 63) - 1, 8)])
def test_narrow_copies_the_fewest_whole_bytes(top, width):
    from engine.gpu.cooc_result import narrow_to_host
    host = np.array([0, top // 3, 7 % (top + 1), top], np.int64)
    be = GPUBackend(simulated=True)
    dev = be.to_device(host)
    before = be.copied()[1]
    assert np.array_equal(narrow_to_host(be, dev), host)
    # the bytes of the width, and the largest value read first (8 bytes, counted)
    assert be.copied()[1] - before == width * host.size + 8 and be.scalar_bytes == 8
    assert narrow_to_host(be, be.to_device(np.empty(0, np.int64))).size == 0


# -- associates, the full table and the .npz: only what each output is made of crosses -------
def _crossed(res, since) -> int:
    """Device-to-host bytes of ``res`` (a GPU result) after ``since`` (its d2h bytes and the
    backend's scalar bytes then), less the one-value reads (sizes, maxima: counted too,
    8 bytes each at most, a few per output, checked here)."""
    d2h, scalars = since
    extra = GPU.scalar_bytes - scalars
    assert extra <= 8 * 16
    return res.stats.device_to_host_bytes - d2h - extra


def _since(res):
    return res.stats.device_to_host_bytes, GPU.scalar_bytes


def _width(values) -> int:
    """Bytes of the narrowest whole-byte unsigned integer holding every value (1 at least)."""
    top = int(np.max(values)) if np.size(values) else 0
    return max(1, (top.bit_length() + 7) // 8)


def _strings_bytes(words) -> int:
    """What a list of spellings costs to cross: their UTF-8 bytes and narrowed lengths."""
    lens = [len(w.encode()) for w in words]
    return sum(lens) + len(lens) * _width(lens)


def _every_row_bytes(c) -> int:
    """The full table's crossing, from the CPU result: per term its number of rows, per row
    the larger id and the count, the spellings, the margins."""
    per_term = np.bincount(c.a, minlength=c.n_terms)
    m, _ = c._margins()
    return (c.n_terms * _width(per_term) + c.nnz * (_width(c.b) + _width(c.raw)) + _strings_bytes(c.vocab)
            + c.n_terms * _width(m))


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
def test_associates_chosen_on_the_device_equal_cpu(cfg):
    """``associates(term, measure, top)``: the term looked up on the device, its rows ranked
    there, the candidates' measures recomputed on the host: the CPU's table for every measure
    and top (ties included), and neither the pairs nor the vocabulary come to the host."""
    b = batch_from_texts(TEXTS * 2)
    c, g = run(b, "cpu", cfg), run(b, GPU, cfg)
    terms = [t for t in ("nvidia", "openai", "de", "gigawatts", "a") if t in c.vocab]
    assert len(terms) >= 3
    for term in terms:
        n = int((((c.a == c.term_id(term)) | (c.b == c.term_id(term))) & (c.a != c.b)).sum())
        for measure in ("count", "pmi", "npmi", "llr"):
            for top in (1, 2, max(1, n // 2), n, None):
                assert g.associates(term.upper(), measure, top).equals(c.associates(term.upper(), measure, top),
                                                                       check_metadata=True), (term, measure, top)
        assert g.spelling(term.title()) == term
    assert "raw" not in vars(g) and "vocab" not in vars(g) and "associate_rows_to_host" in g.stats.counters
    from engine.errors import ParameterError
    for bad in ("zzz-not-a-term", "two words"):
        with pytest.raises(ParameterError) as eg:
            g.associates(bad)
        with pytest.raises(ParameterError) as ec:
            c.associates(bad)
        assert str(eg.value) == str(ec.value) and eg.value.param == "term"


@pytest.mark.parametrize("cfg", CONFIGS[:3], ids=CONFIG_IDS[:3])
def test_associates_bytes_to_host(cfg):
    """What crosses for ``associates("nvidia", top=None)``: the term's id (8 bytes), then per
    row of the term its local pair number and count, per term named its spelling and margin
    (before: every pair, term and margin, 16 bytes a pair at least)."""
    b = batch_from_texts(TEXTS * 2)
    c, g = run(b, "cpu", cfg), run(b, GPU, cfg)
    before = _since(g)
    table = g.associates("nvidia", None, None)
    t = c.term_id("nvidia")
    rows = np.flatnonzero(((c.a == t) | (c.b == t)) & (c.a != c.b))
    ids = np.unique(np.concatenate([c.a[rows], c.b[rows], [t]]))
    local = np.searchsorted(ids, c.a[rows]) * ids.size + np.searchsorted(ids, c.b[rows])
    m, _ = c._margins()
    want = (8 + rows.size * (_width(local) + _width(c.raw[rows])) + ids.size * _width(m[ids])
            + _strings_bytes([c.vocab[i] for i in ids]))
    assert table.num_rows == rows.size > 3
    assert _crossed(g, before) == want < 16 * c.nnz


@pytest.mark.parametrize("cfg", CONFIGS, ids=CONFIG_IDS)
def test_full_table_and_npz_bring_back_their_content_only(cfg, tmp_path):
    """``table()`` of every row, then ``write_npz``: the table's crossing is the pairs (per
    term its number of rows, per row the larger id and the count, narrowed), the spellings and
    the margins; the .npz adds the term counts only.  The files equal the CPU's member for
    member (the zip's timestamps aside), the vocabulary byte for byte."""
    import zipfile
    b = batch_from_texts(TEXTS * 2)
    c, g = run(b, "cpu", cfg), run(b, GPU, cfg)
    before = _since(g)
    assert g.table().equals(c.table(), check_metadata=True)
    assert _crossed(g, before) == _every_row_bytes(c)
    mid = _since(g)
    (pc, vc), (pg, vg) = c.write_npz(tmp_path / "c.npz"), g.write_npz(tmp_path / "g.npz")
    assert _crossed(g, mid) == c.n_terms * _width(c.term_count)
    assert vc.read_bytes() == vg.read_bytes()
    with zipfile.ZipFile(pc) as zc, zipfile.ZipFile(pg) as zg:
        assert zc.namelist() == zg.namelist()
        for name in zc.namelist():
            assert zc.read(name) == zg.read(name), name
    # and the .npz alone, on a fresh result, crosses the same: nothing more than its content
    g2 = run(b, GPU, cfg)
    before = _since(g2)
    g2.write_npz(tmp_path / "g2.npz")
    assert _crossed(g2, before) == _every_row_bytes(c) + c.n_terms * _width(c.term_count)
    assert "rank" not in vars(g2) or g2.rank is None   # the code point rank is not needed, nor brought


def test_cli_outputs_on_the_gpu_equal_cpu_byte_for_byte(tmp_path):
    """``corpus cooc`` with ``--device gpu`` (simulated) and ``--device cpu``: ``--term`` with
    and without ``--top``, the full table and the .npz give the same files."""
    import json
    import zipfile

    from typer.testing import CliRunner

    from engine.cli import app
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(TEXTS * 2)), "utf-8")
    runs = {"assoc": ["--term", "Nvidia", "--measure", "npmi"], "assoc-top": ["--term", "nvidia", "--top", "3"],
            "full": ["--window", "3"], "top": ["--top", "5"], "npz": ["--window", "doc"]}
    for name, opts in runs.items():
        ext = ".npz" if name == "npz" else ".csv"
        for dev in ("cpu", "gpu"):
            r = CliRunner().invoke(app, ["cooc", str(src), "--min-count", "1", "--device", dev, "--quiet",
                                         "-o", str(tmp_path / f"{name}-{dev}{ext}"), *opts])
            assert r.exit_code == 0, r.output
        c, g = tmp_path / f"{name}-cpu{ext}", tmp_path / f"{name}-gpu{ext}"
        if ext == ".csv":
            assert c.read_bytes() == g.read_bytes() and c.stat().st_size > 100, name
        else:
            with zipfile.ZipFile(c) as zc, zipfile.ZipFile(g) as zg:
                assert [zc.read(n) for n in zc.namelist()] == [zg.read(n) for n in zg.namelist()]
            assert (tmp_path / "npz-cpu.vocab.tsv").read_bytes() == (tmp_path / "npz-gpu.vocab.tsv").read_bytes()


@pytest.mark.parametrize("piece", [256, 7])
def test_long_document_pairs_in_pieces_equal_cpu(piece, monkeypatch):
    """``--window doc`` with a long document (300 distinct terms: 45150 pairs, rows of up to
    300): its rows cut in pieces of at most ``piece`` pairs, one thread a piece; the counts,
    document frequencies and table equal the CPU's."""
    from engine.cooc import backends
    words = [f"w{i}" for i in range(300)]
    long_doc = " ".join(words[(i * 7) % 300] for i in range(900))
    texts = TEXTS[:3] + [long_doc] + TEXTS[3:] + [" ".join(words[::3])]
    seen = []
    pieces = backends.doc_pieces

    def recorded(be, row_end, size):
        out = pieces(be, row_end, size)
        seen.append((int(GPU.to_host(row_end - be.xp.arange(int(row_end.size), dtype=np.int64)).max()),
                     int(GPU.to_host(out[2][1:] - out[2][:-1]).max())))
        return out
    from dataclasses import replace
    monkeypatch.setattr(GPU.splitter, "params", replace(GPU.splitter.params, doc_pair_pieces=piece))
    monkeypatch.setattr(backends, "doc_pieces", recorded)
    cfg = CoocConfig(window="doc", min_count=1)
    b = batch_from_texts(texts)
    c, g = run(b, "cpu", cfg), run(b, GPU, cfg)
    longest_row, longest_piece = seen[0]
    assert longest_row == 300 and longest_piece == min(piece, 300)
    assert c.nnz > 300 * 299 // 2
    for name in ("a", "b", "raw", "doc_freq", "term_count"):
        assert np.array_equal(getattr(c, name), getattr(g, name)), name
    assert c.table(None, 50).equals(g.table(None, 50))
