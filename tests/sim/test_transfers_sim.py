"""Each job on 357 KB of real text (the bundled seed articles, two edited copies, and the
prose of the Python reference documentation that ships with CPython, ``pydoc_data``) on the
simulated GPU with the strict array module: output equal to the CPU backend's, every
host/device copy counted, and what crosses bounded by what the job must bring back (about
35 s for the three jobs: the simulator runs every GPU thread in Python).
"""
import pytest

from engine import cooc
from engine.backend import get_backend
from engine.corpus import batch_from_texts
from engine.resources import seeds_dir
from tests.sim.jobs import JOBS, tables

CPU, GPU = get_backend("cpu"), get_backend("gpu")


def corpus():
    """The five seed articles, an edited copy of two (for MinHash to find), then Python
    reference topics in name order up to 300 KB."""
    import pydoc_data.topics
    texts = [p.read_text("utf-8") for p in sorted(seeds_dir().glob("*.txt"))]
    texts += [texts[0].replace("the", "a", 3), texts[2] + " One more sentence at the end."]
    for name in sorted(pydoc_data.topics.topics):
        if sum(len(t.encode()) for t in texts) >= 300_000:
            break
        texts.append(pydoc_data.topics.topics[name])
    return batch_from_texts(texts)


def _gpu_run(job, mod, cfg):
    """The job on the GPU, its outputs made (cooc's top rows come from the device), and the
    bytes of its one-value reads (sizes, maxima: backend.scalar), counted in its d2h bytes."""
    before = GPU.scalar_bytes
    res = mod.run(corpus(), GPU, cfg)
    tables(job, res)
    return res, GPU.scalar_bytes - before


@pytest.fixture(scope="module")
def runs():
    return {job: (mod.run(corpus(), CPU, cfg), *_gpu_run(job, mod, cfg)) for job, (mod, cfg) in JOBS.items()}


@pytest.mark.parametrize("job", list(JOBS))
def test_gpu_output_equals_cpu(runs, job):
    c, g, _ = runs[job]
    assert "strict" in g.stats.backend
    for tc, tg in zip(tables(job, c), tables(job, g)):
        assert tc.num_rows > 0 and tg.equals(tc)
    assert (c.stats.host_to_device_bytes, c.stats.device_to_host_bytes) == (0, 0)


@pytest.mark.parametrize("job", list(JOBS))
def test_copies_counted_and_bounded(runs, job):
    c, g, scalars = runs[job]
    s = g.stats
    text = s.bytes
    # the one-value reads (a synchronisation and 8 bytes each: sizes of the split steps and of
    # allocations) are counted; what they add is small, the rest is the payload bounded below
    assert 0 < scalars <= 8 * 4 * (s.documents + 64) and scalars < 0.01 * text
    payload = s.device_to_host_bytes - scalars
    assert text > 300_000
    assert s.host_to_device_bytes >= text            # the text went up (once per pass)
    assert 0 < s.device_to_host_bytes
    if job == "ngrams":
        # device-resident: per document the tokenizer's sizes (16 bytes), then only the output
        # rows: their strings with offsets, counts and document frequencies, per order
        table = g.table()
        strings = sum(len(v.encode()) for v in table.column("ngram").to_pylist())
        assert payload == 16 * s.documents + strings + 24 * table.num_rows + 8 * 3
    elif job == "minhash":
        # the signatures stay on the device: per document the tokenizer's sizes and the raw
        # shingle count (24 bytes), per candidate pair its two ends, the estimate and the
        # exact intersection (32), and the shingle-set offsets of the verified documents
        pairs = s.counters["candidate_pairs"]
        assert 24 * s.documents <= payload <= 24 * s.documents + 32 * pairs + 8 * (2 * pairs + 1) \
            + 24 * 2 * pairs
    else:
        # device-resident: per document the tokenizer's sizes (16 bytes), then for the top's
        # rows (those at or above the 1000th value, less a margin) their pair of term ids and count,
        # for the terms they name their spellings, lengths and margins, in 1 to 8 bytes each
        table = tables(job, g)[0]      # asked again: cached, nothing crosses again
        named = {*table.column("term_a").to_pylist(), *table.column("term_b").to_pylist()}
        rows, terms = s.counters["top_rows_to_host"], s.counters["top_terms_to_host"]
        assert 1000 <= rows < 1100 and terms == len(named) and "raw" not in vars(g)
        strings = sum(len(t.encode()) for t in named)
        assert 16 * s.documents + strings + 2 * rows + 2 * terms <= payload \
            <= 16 * s.documents + strings + 24 * rows + 16 * terms


@pytest.mark.parametrize("job", list(JOBS))
def test_device_to_host_at_most_5_percent_of_the_text(runs, job):
    tables(job, runs[job][1])          # the output (cooc: the top rows come from the device)
    s = runs[job][1].stats
    assert s.device_to_host_bytes <= 0.05 * s.bytes


@pytest.mark.parametrize("texts", [[], ["", "  ", "!!"], ["un"]], ids=["no-documents", "no-tokens", "one-token"])
@pytest.mark.parametrize("job", list(JOBS))
def test_degenerate_corpora_equal_cpu(job, texts):
    mod, cfg = JOBS[job]
    batches = [batch_from_texts(texts)] if texts else []
    c, g = mod.run(batches, CPU, cfg), mod.run(batches, GPU, cfg)
    for tc, tg in zip(tables(job, c), tables(job, g)):
        assert tg.equals(tc)


@pytest.mark.parametrize("cfg", [cooc.CoocConfig(window="doc"), cooc.CoocConfig(weighting="harmonic")],
                         ids=["cooc-window-doc", "cooc-harmonic"])
def test_cooc_other_modes_top_1000_within_5_percent(cfg):
    """``cooc --window doc`` (1.4 million pairs) and harmonic weights (counts in units of
    lcm(1..5)): the same top 1000 as the CPU, at most 5 % of the text back from the device."""
    c, g = cooc.run(corpus(), CPU, cfg), cooc.run(corpus(), GPU, cfg)
    assert g.table(None, 1000).equals(c.table(None, 1000)) and g.nnz == c.nnz > 70_000
    assert "raw" not in vars(g) and 0 < g.stats.device_to_host_bytes <= 0.05 * g.stats.bytes
