"""``corpus analyze``: the main job, and its HTML report.

On the console: top n-grams per n (stop words removed), then the near-duplicate
and co-occurrence sections.  In ``--report`` (default ``report.html``): the
same figures and tables plus the plots (engine.report), written atomically.

Library use::

    from engine.analyze import analyze_corpus
    data = analyze_corpus(["seeds/"])          # -> engine.report.ReportData
    engine.report.write_report(data, "report.html", plots_dir="plots")
    data.stats.to_json()                       # engine.stats.JobStats: seconds per section

One streaming pass (:mod:`engine.analyze_pass`): the corpus is read once, each batch is
tokenised once, and every section is fed from it; the figures equal those of the single jobs.

No command-line dependency: the CLI (engine.cli.analyze) passes its reader, its skip report
(``on_read``) and its warning printer (``warn``).
"""
from __future__ import annotations

import platform
import sys
import time
from dataclasses import replace
from datetime import datetime
from typing import Callable

import numpy as np

from engine.analyze_pass import LANG_DOCS, LANGS, LanguageGuess, analyze_pass
from engine.corpus import CorpusReader
from engine.resources import seeds_dir
from engine.stats import JobStats

__all__ = ["analyze_corpus", "main_terms", "memory_split"]

MATRIX_DOCS = 12        # up to this many documents: the all-pairs matrix (as engine.minhash does)
HEATMAP_DOCS = 30       # more: a heatmap of the documents of the largest clusters, at most this many
REPORT_CLUSTERS = 25    # clusters listed in the report
CLUSTER_MEMBERS = 10    # members listed per cluster
MAIN_TERMS = 6          # content terms whose associates the co-occurrence section shows
ASSOCIATES = 8


# ---------------------------------------------------------------------------- helpers
def main_terms(terms_by_frequency, k: int = MAIN_TERMS) -> list[str]:
    """The most frequent content words: alphabetic, two letters or more (stop words are
    already removed from ``terms_by_frequency``, most frequent first)."""
    out = []
    for term in terms_by_frequency:
        if len(term) >= 2 and term.isalpha():
            out.append(term)
        if len(out) == k:
            break
    return out


def _term_ids(vocab: list[str], terms: list[str]) -> list[int]:
    """The index in ``vocab`` of each of ``terms`` (its first, in order: :func:`main_terms`
    picks them from the start of ``vocab``)."""
    at = {}
    for i, v in enumerate(vocab):
        if len(at) == len(terms):
            break
        if v in terms and v not in at:
            at[v] = i
    return [at[t] for t in terms]


def _guess_languages(batches, max_docs: int = LANG_DOCS) -> tuple[dict[str, int], int]:
    """Documents per language of the first ``max_docs`` documents of ``batches``
    (:class:`engine.analyze_pass.LanguageGuess`)."""
    guess = LanguageGuess(max_docs)
    for batch in batches:
        if guess.done:
            break
        guess.add(batch)
    return guess.result()


def _installed_version(dist: str) -> str:
    """The installed version of ``dist`` from its metadata, without importing it (matplotlib:
    0.25 s, for the report, which ``--no-report`` never draws)."""
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _versions(backend) -> dict[str, str]:
    import numba
    import pyarrow
    import scipy

    import engine
    from engine.normalize import get_tables
    v = {"corpus-engine": engine.__version__, "python": platform.python_version(),
         "numpy": np.__version__, "numba": numba.__version__, "pyarrow": pyarrow.__version__,
         "scipy": scipy.__version__, "matplotlib": _installed_version("matplotlib"),
         "unicode (tables)": get_tables().unicode_version, "backend": backend.describe(),
         "platform": platform.platform(terse=True)}
    if backend.name == "gpu":
        try:
            import cupy
            v["cupy"] = cupy.__version__
        except Exception:
            pass
    return v


# ---------------------------------------------------------------------------- near-duplicates
def _pair_matrix(sig: np.ndarray, idx: np.ndarray) -> np.ndarray:
    s = sig[idx]
    return (s[:, None, :] == s[None, :, :]).mean(axis=2)


def _clusters(res, limit: int = REPORT_CLUSTERS) -> list[dict]:
    ids = res.doc_ids
    rep, size = np.asarray(res.rep), np.asarray(res.size)
    score = np.where(np.isnan(res.jaccard), res.estimate, res.jaccard) if res.pair_a.size else np.empty(0)
    best: dict[int, float] = {}
    for a, s in zip(rep[res.pair_a].tolist(), score.tolist()):
        best[a] = max(best.get(a, 0.0), s)
    reps = np.unique(rep[size >= 2])
    reps = sorted(reps.tolist(), key=lambda r: (-int(size[r]), r))[:limit]
    out = []
    for r in reps:
        members = np.flatnonzero(rep == r)
        others = [ids[i] for i in members if i != r][:CLUSTER_MEMBERS - 1]
        out.append({"representative": ids[r], "size": int(size[r]), "members": [ids[r]] + others,
                    "max_jaccard": float(best.get(r, float("nan"))), "_index": members})
    return out


def _small_matrix(batches, backend, cfg):
    """``(doc_ids, matrix)`` of :func:`engine.minhash.similarity_matrix` for the few documents of
    ``batches``, its signatures made from the tokens (``SignatureConsumer.add_tokens``, the same
    bits as the fused kernel): the kernels of that path are mostly compiled by the pass, while
    the fused kernel's character-shingle mode would be compiled for these few documents only
    (about 4 s of a first run after install)."""
    from engine.minhash.job import SignatureConsumer
    from engine.minhash.similarity import similarity_of
    from engine.text import tokenize
    consumer = SignatureConsumer(backend, cfg, keep=False)
    for batch in batches:
        consumer.add_tokens(batch, tokenize(batch, backend, cfg.text))
    res = similarity_of(consumer.partial(), backend, cfg, exact=False)
    return res.doc_ids, res.matrix


def _near_duplicates(partial, small_batches, backend, cfg, reader, console) -> dict:
    """Console section (as engine.minhash.analyze_section prints it) and the report's data, from
    the signatures of the pass (``partial``); ``small_batches``: the corpus, when it has at most
    ``MATRIX_DOCS`` documents (for the all-pairs matrix)."""
    import pyarrow as pa

    from engine.console import print_matrix, print_summary
    from engine.minhash.job import combine, finish
    from engine.output import print_table

    if isinstance(partial, Exception):
        raise partial
    n = partial.n_docs

    def result():   # what mh.run(corpus, backend, cfg) returns, from the pass's signatures
        res = finish(combine([partial]), cfg, backend=backend)
        res.stats.add_read(reader.stats)
        return res
    out: dict = {"params": {"minhash shingles": cfg.shingle, "minhash permutations": cfg.perms,
                            "minhash threshold": cfg.threshold, "minhash seed": cfg.seed}}
    if n <= MATRIX_DOCS:
        # Few documents are usually related articles, not copies: character 5-grams show their
        # overlap where word 5-grams show ~0 (engine.minhash.analyze_section does the same).
        mcfg = replace(cfg, shingle="char:5")
        ids, m = _small_matrix(small_batches, backend, mcfg)
        title = f"Near-duplicates: estimated Jaccard ({mcfg.shingle} shingles, {mcfg.perms} permutations)"
        print_matrix(ids, m, console, title)
        out.update(doc_ids=list(ids), matrix=m.tolist(), matrix_title=title,
                   matrix_caption="All pairs of documents: estimated Jaccard similarity of their "
                                  "character 5-gram sets (1.00 on the diagonal).")
        res = result()  # clusters at the dedup settings
        out["summary"] = res.summary()
    else:
        res = result()
        summ = res.summary()
        title = f"Near-duplicates (MinHash {cfg.shingle}, threshold {cfg.threshold})"
        print_summary(summ, console, title)
        out["summary"] = summ
    clusters = _clusters(res)
    if n > MATRIX_DOCS and clusters:
        print_table(pa.table({"representative": [c["representative"] for c in clusters[:10]],
                              "size": [c["size"] for c in clusters[:10]]}),
                    "Largest near-duplicate clusters", console)
    if n > MATRIX_DOCS:
        # heatmap of the documents of the largest clusters (or of the best candidate pairs)
        idx: list[int] = []
        for c in clusters:
            take = c["_index"][:max(0, HEATMAP_DOCS - len(idx))].tolist()
            idx.extend(take)
            if len(idx) >= HEATMAP_DOCS:
                break
        what = "documents of the largest clusters, grouped by cluster"
        if not idx and res.cand_a.size:
            est = (res.sigs.sig[res.cand_a] == res.sigs.sig[res.cand_b]).mean(axis=1)
            order = np.argsort(-est, kind="stable")
            for k in order.tolist():
                for d in (int(res.cand_a[k]), int(res.cand_b[k])):
                    if d not in idx and len(idx) < HEATMAP_DOCS:
                        idx.append(d)
            what = "documents of the most similar candidate pairs (none reached the threshold)"
        if len(idx) >= 2:
            ix = np.asarray(idx, dtype=np.int64)
            out.update(doc_ids=[res.doc_ids[i] for i in idx], matrix=_pair_matrix(res.sigs.sig, ix).tolist(),
                       matrix_title=f"Estimated Jaccard ({cfg.shingle} shingles), {len(idx)} documents",
                       matrix_caption=f"{what[0].upper() + what[1:]}; estimated from the {cfg.perms}-permutation signatures.")
    for c in clusters:
        c.pop("_index", None)
    out["clusters"] = clusters
    n_clusters = out["summary"].get("clusters", len(clusters))
    if n_clusters > len(clusters):
        out["clusters_note"] = f"the {len(clusters)} largest of {n_clusters} clusters."
    out["no_clusters"] = (f"no near-duplicate clusters: no pair of documents reaches Jaccard "
                          f"{cfg.threshold} on {cfg.shingle} shingles.")
    out["note"] = (f"MinHash, {cfg.perms} permutations (seed {cfg.seed}), LSH {res.bands} bands x "
                   f"{res.rows} rows, pairs verified by exact Jaccard of {cfg.shingle} shingle sets; "
                   f"a cluster keeps its first document in corpus order.")
    return out


# ---------------------------------------------------------------------------- co-occurrence
COOC_WINDOW = 5
COOC_MEASURE = "llr"


def _cooc_result(vocab_partial, cache, backend, cfg, reader):
    """What ``engine.cooc.run`` returns, from the pass's term counts and token cache (pass 2 of
    the job over the cached type numbers: the corpus is not read again), less the sort key of
    every pair that :func:`engine.cooc.job.finish` computes for the job's tables: the section
    ranks the pairs of its few main terms only (:func:`_head_associates`)."""
    from engine.cooc.pairs import combine, map_partition
    from engine.cooc.vocabulary import choose_vocabulary, combine_vocabulary
    try:
        if isinstance(vocab_partial, Exception):
            raise vocab_partial
        vocabulary = choose_vocabulary(combine_vocabulary([vocab_partial]), cfg)
        partial = map_partition(cache, backend, cfg, vocabulary)
    finally:
        cache.close()
    res = _unranked_result(combine([partial]), cfg, vocabulary)
    res.stats.add_read(reader.stats)
    return res


def _unranked_result(partial, cfg, vocabulary):
    """:func:`engine.cooc.job.finish` of ``partial`` without its sort key of every pair (the
    llr of some ten million pairs): the section ranks its main terms' pairs only."""
    from engine.cooc.job import finish
    return finish(partial, cfg, vocabulary, rank_pairs=False)


def _head_associates(res, heads: list[int], measure: str, k: int) -> list[list[dict]]:
    """For each term id of ``heads``: its ``k`` best associates, as
    ``CoocResult.associates(term, measure, k)`` ranks them (``measure``'s sort key descending,
    then the associate in code point order), each ``{"term", "score", "llr", "npmi",
    "count"}``.  One scan of the pairs for all the heads (``associates`` scans them once a
    head), ``measure`` computed for the heads' pairs only, the other measures for the rows
    shown only (the values are per row: the same as of every row)."""
    from engine.cooc.measures import sort_key
    ids = np.asarray(heads, np.int64)
    is_head = np.zeros(len(res.vocab), bool)
    is_head[ids] = True
    # the pairs are sorted by (a, b): a head's rows as ``a`` are one range, found by search
    # (in a's own dtype: another would convert every row first)
    at = ids.astype(res.a.dtype)
    lo, hi = np.searchsorted(res.a, at, side="left"), np.searchsorted(res.a, at, side="right")
    mine = is_head[res.b]                  # the rows with a head as b, then as a
    for x, y in zip(lo.tolist(), hi.tolist()):
        mine[x:y] = True
    sel = np.flatnonzero(mine)
    a, b = res.a[sel], res.b[sel]
    keep = a != b
    sel, a, b = sel[keep], a[keep], b[keep]
    score = res.measure(measure, sel)
    rank = res._rank()
    tops, others, scores = [], [], []
    for t in heads:
        mine = np.flatnonzero((a == t) | (b == t))    # ascending, as associates' rows
        other = np.where(a[mine] == t, b[mine], a[mine])
        order = np.lexsort((rank[other], -sort_key(score[mine])))[:k]
        tops.append(sel[mine[order]])
        others.append(other[order].tolist())
        scores.append(score[mine[order]])
    # the other measures of all the rows shown at once (a kernel launch each, not a head each)
    top = np.concatenate(tops + [np.zeros(0, np.int64)])
    values = {name: np.concatenate(scores + [np.zeros(0)]) if name == measure else res.measure(name, top)
              for name in (measure, "llr", "npmi", "count")}
    columns = zip(*(values[name].tolist() for name in (measure, "llr", "npmi", "count")))
    out = []
    for other in others:
        out.append([{"term": res.vocab[o], "score": float(s), "llr": float(lv), "npmi": float(nv), "count": c}
                    for o, (s, lv, nv, c) in zip(other, columns)])
    return out


def _cooccurrence(vocab_partial, cache, backend, cfg, reader, console, warn) -> dict:
    """Console table and report data: the top associates of the main content terms (engine.cooc's
    data API: the result, the vocabulary in frequency order, ``CoocResult.associates``).  A failure
    in it becomes a note in the report instead of stopping the analysis."""
    text = cfg.text
    try:
        from rich.table import Table
        res = _cooc_result(vocab_partial, cache, backend, cfg, reader)
        heads = main_terms(res.vocab)
        head_ids = _term_ids(res.vocab, heads)
        out: dict[str, list[dict]] = {}
        table = Table(title=f"Co-occurrence: top associates (window {cfg.window}, {cfg.measure.upper()}, "
                            f"stop words {'removed' if text.stopwords else 'kept'})")
        table.add_column("term")
        table.add_column("count", justify="right")
        table.add_column("associates (count)")
        # by term id: the heads are vocabulary spellings (``associates(term)`` would
        # normalise and hash every vocabulary term, in Python, to find them)
        for h, t, rows in zip(heads, head_ids, _head_associates(res, head_ids, cfg.measure, ASSOCIATES)):
            out[h] = rows
            table.add_row(h, str(int(res.term_count[t])),
                          ", ".join(f"{r['term']} ({r['count']:g})" for r in rows))
        if heads:
            console.print(table)
        else:
            console.print(f"[dim]Co-occurrence: no content word (alphabetic, 2+ letters) seen at least "
                          f"{cfg.min_count} times[/dim]")
    except Exception as e:
        warn(f"co-occurrence section failed: {type(e).__name__}: {e}")
        return {"error": f"Co-occurrence failed: {type(e).__name__}: {e}"}
    if not heads:
        note = (f"No content word (alphabetic, two letters or more) is seen at least {cfg.min_count} "
                f"times. Vocabulary {len(res.vocab)} terms, {res.nnz} distinct pairs.")
    else:
        note = (f"Top {ASSOCIATES} associates of the {len(heads)} most frequent content words, "
                     f"ranked by {cfg.measure.upper()} (Dunning's log-likelihood G²); NPMI in [-1, 1]; "
                     f"count = co-occurrences within a window of {cfg.window} tokens "
                     f"(stop words {'removed first' if text.stopwords else 'kept'}). "
                     f"Vocabulary {len(res.vocab)} terms (seen at least {cfg.min_count} times), "
                     f"{res.nnz} distinct pairs.")
    return {"measure": cfg.measure, "columns": ["llr", "npmi", "count"], "terms": out, "note": note,
            "params": {"cooc window": cfg.window, "cooc weighting": cfg.weighting,
                       "cooc measure": cfg.measure, "cooc min count": cfg.min_count,
                       "cooc max vocabulary": cfg.max_vocab}}


# ---------------------------------------------------------------------------- the job
def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _paths(corpus) -> list:
    """The paths of ``corpus`` (one path or several; none: the bundled seeds)."""
    paths = [corpus] if isinstance(corpus, str) or hasattr(corpus, "__fspath__") else corpus
    return list(paths) if paths else [seeds_dir()]


def memory_split(memory) -> tuple[int | None, int]:
    """The bytes of an analysis's ``memory`` bound (:func:`engine.ngrams.config.parse_memory`:
    ``"2GB"``, bytes, None) given to each of its spilling parts: (the n-gram counting tables,
    the co-occurrence token cache).  None: the single jobs' defaults (the n-gram tables a
    quarter of the RAM, the cache 512 MB).  Else a quarter to the cache, the rest (at least
    1 MB) to the tables, the largest part of the pass (a table entry per distinct n-gram,
    where the cache holds 4 bytes a token)."""
    from engine.cooc import CoocConfig
    from engine.ngrams.config import MIN_MEMORY, parse_memory
    if memory is None:
        return None, CoocConfig().cache_bytes
    total = parse_memory(memory)
    cache = total // 4
    return max(total - cache, MIN_MEMORY), cache


def _rows_of_order(table, k: int):
    """The rows of ``table`` (the top n-grams: at most ``top`` rows per order) whose ``n`` is
    ``k``, in order, without the ``n`` column.  Row slices: Arrow's to_numpy and its compute
    functions (with a Python int) import pandas (0.3-0.9 s) and pyarrow.compute (0.1 s)."""
    import pyarrow as pa
    rows = [i for i, v in enumerate(table.column("n").to_pylist()) if v == k]
    return pa.concat_tables([table.slice(0, 0)] + [table.slice(i, 1) for i in rows]).drop(["n"])


def analyze_corpus(corpus=None, *, top: int = 10, n="1-3", stopwords: str | None = "fr,en",
                   device="auto", text_field: str = "text", id_field: str = "id",
                   encoding: str = "utf-8", strict: bool = False,
                   on_read: Callable[[CorpusReader], None] | None = None,
                   warn: Callable[[str], None] | None = None, console=None, command: str = "",
                   inputs: list[str] | None = None, scheduler=None, memory=None):
    """Run the analysis, print the console sections to ``console`` and return the
    :class:`engine.report.ReportData` for the HTML report (its ``stats``: a JobStats).

    Parameters
    ----------
    corpus : paths (default: the bundled seeds) or a ready :class:`CorpusReader` (the reader
        options below then do not apply).
    on_read : called with the reader once the corpus is read (the CLI reports skips there).
    warn : called with a one-line message when a section fails (default: stderr).
    inputs : the input paths the report lists (default: the paths given).
    memory : bound on the parts of the pass that spill to disk past it (``"2GB"`` or bytes;
        default: the single jobs' defaults), split by :func:`memory_split`.
    scheduler : a cluster for the main n-gram counts (:func:`engine.ngrams.run`, which reads
        the files there; the other sections run here, in the one pass of
        :func:`engine.analyze_pass.analyze_pass`).
    """
    from rich.console import Console

    from engine import ngrams
    from engine.backend import get_backend
    from engine.cooc import CoocConfig
    from engine.minhash import MinHashConfig
    from engine.output import print_table
    from engine.report import ReportData
    from engine.text import text_options

    console = console or Console(highlight=False)
    warn = warn or _warn_stderr
    text = text_options(stopwords, False, 1)
    ngram_memory, cache_bytes = memory_split(memory)
    cfg = ngrams.NgramConfig(n=n, top=top, text=text, memory=ngram_memory)
    backend = get_backend(device)
    if isinstance(corpus, CorpusReader):
        reader = corpus
        inputs = inputs if inputs is not None else [str(f[0]) for f in reader.files]
    else:
        paths = _paths(corpus)
        reader = CorpusReader(paths, text_field=text_field, id_field=id_field, encoding=encoding,
                              strict=strict)
        inputs = inputs if inputs is not None else [str(p) for p in paths]
    stats = JobStats(job="analyze", backend=backend.describe())
    copied = backend.copied()   # the run's host/device copies go into its stats (--stats)
    mh_cfg = MinHashConfig(text=text)
    cooc_cfg = CoocConfig(window=COOC_WINDOW, min_count=2, measure=COOC_MEASURE, text=text,
                          cache_bytes=cache_bytes)
    t0 = time.perf_counter()
    # one pass: the corpus read once, each batch tokenised once, every section fed from it
    # (with a scheduler the main n-gram counts are made on the cluster, which reads the files)
    done = analyze_pass(reader, backend, text, cfg, mh_cfg, cooc_cfg, stats, count_ngrams=scheduler is None,
                        keep_docs=MATRIX_DOCS)
    try:
        with stats.stage("ngrams"):
            if scheduler is None:
                if isinstance(done.ngrams, ngrams.NgramResult):   # a GPU's is finished on the device
                    main = done.ngrams
                else:
                    main = ngrams.finish(ngrams.combine([done.ngrams]), cfg)
                    for k, v in (done.ngram_distinct or {}).items():   # the partial: the top's rows only
                        main.stats.counters[f"distinct_n{k}"] = v
                main.stats.add_read(reader.stats)
            else:
                main = ngrams.run(CorpusReader([f[0] for f in reader.files], **reader.options()),
                                  backend, cfg, scheduler=scheduler)
            table = main.table()
        elapsed = time.perf_counter() - t0
        stats.documents, stats.tokens, stats.bytes = main.stats.documents, main.stats.tokens, main.stats.bytes
        stats.add_read(reader.stats)
        if on_read is not None:
            on_read(reader)
        console.rule("[bold]corpus")
        console.print(
            f"{main.stats.documents} documents, {reader.stats.bytes / 1e6:.2f} MB, {main.stats.tokens} tokens "
            f"(stop words {stopwords or 'kept'}), {reader.stats.n_skipped} skipped; "
            f"{backend.describe()}, {elapsed:.2f} s")
        lo, hi = cfg.n
        top_ngrams = {}
        for k in range(lo, hi + 1):
            t = _rows_of_order(table, k)
            print_table(t, title=f"top {top} {k}-grams", console=console)
            top_ngrams[k] = [(r["ngram"], r["count"], r["doc_freq"]) for r in t.to_pylist()]

        # rank-frequency of every word, stop words kept (unigram counts of the same pass)
        words = done.unigrams   # every word, stop words kept: the counts of the unigram table
        zipf_counts, zipf_words = words.counts, words.top_words

        with stats.stage("near_duplicates"):
            try:
                nd = _near_duplicates(done.minhash, done.small_batches, backend, mh_cfg, reader, console)
            except Exception as e:
                warn(f"near-duplicate section failed: {type(e).__name__}: {e}")
                nd = {"error": f"near-duplicate section failed: {type(e).__name__}: {e}"}
        stats.counters["ngram_spills"] = main.stats.counters.get("spills", 0)
        stats.counters["cooc_cache_spilled"] = int(done.cache.dir is not None)
        with stats.stage("cooccurrence"):
            co = _cooccurrence(done.vocabulary, done.cache, backend, cooc_cfg, reader, console, warn)
    finally:
        done.cache.close()
    backend.charge(stats, copied)
    langs, sampled = done.languages
    stats.counters.update({"tokens_with_stopwords": words.tokens, "distinct_words": words.distinct})
    for k in range(lo, hi + 1):
        stats.counters[f"distinct_n{k}"] = main.stats.counters.get(f"distinct_n{k}", 0)
    rs = reader.stats
    summary = {"documents": main.stats.documents, "tokens": main.stats.tokens, "MB": f"{rs.bytes / 1e6:.2f}",
               "distinct words": words.distinct, "skipped inputs": rs.n_skipped, "files": rs.files,
               "bytes": rs.bytes, "tokens with stop words": words.tokens,
               "tokens (after stop words)": main.stats.tokens, "seconds (n-grams)": f"{elapsed:.2f}"}
    params = {"n": f"{lo}-{hi}", "top": top, "stop words": stopwords or "kept", "device": device,
              "backend": backend.describe(), "normalisation": "NFKC + casefold, tokens = \\w+ runs",
              "encoding": encoding, "text field": text_field, "id field": id_field, "strict": strict}
    for sec in (nd, co):
        params.update(sec.pop("params", {}) if isinstance(sec, dict) else {})
    return ReportData(
        inputs=inputs,
        summary=summary,
        skipped=[(r, c, list(rs.locations.get(r, []))) for r, c in sorted(rs.skipped.items())]
        + [(f"warning: {r} (kept)", c, list(rs.warning_locations.get(r, [])))
           for r, c in sorted(rs.warnings.items())],
        languages=langs or None,
        languages_note=(f"Guessed from stop-word frequencies ({', '.join(LANGS)}) in "
                        f"{'all ' if sampled == main.stats.documents else 'the first '}{sampled} documents; "
                        "a heuristic, not a language identifier."),
        ngrams=top_ngrams,
        ngrams_note=f"Word n-grams within documents, stop words removed ({stopwords or 'none'}); "
                    "count = occurrences, doc_freq = documents containing it.",
        zipf_counts=zipf_counts, zipf_words=zipf_words,
        zipf_note="All words, stop words kept (a separate unigram count of the same documents).",
        minhash=nd, cooc=co, params=params, versions=_versions(backend),
        created=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        command=command, stats=stats,
    )
