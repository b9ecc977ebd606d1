"""Deterministic French and English benchmark corpora built from real text.

Two entry points, used by every benchmark job::

    ensure_corpus("fr", 50, seed=0)            -> Path of a JSONL corpus of about 50 MB
    ensure_dup_corpus("en", 2000, seed=0)      -> (corpus JSONL, ground-truth Parquet)

and a CLI: ``python -m bench.corpus_gen --lang fr --mb 50 --seed 0``
(``--dup N`` builds the near-duplicate corpus of N documents instead).

How the text is made (see bench/README.md for sources and licences):

1. Real text is split into sentences: for French the five news articles bundled
   in ``seeds/``, for English the prose of the Python reference documentation
   shipped with every CPython (``pydoc_data.topics``).
2. An order-2 word Markov chain over those sentences walks from a real sentence
   start to a real sentence end; where two real sentences share two consecutive
   words it may switch from one to the other, so sentences are real or spliced
   from real ones, and word frequencies are those of the source (Zipf).
3. Vocabulary growth: with a small source the number of distinct words would stop
   growing after a few hundred kilobytes, unlike a real collection (Heaps' law).
   When the ``wordfreq`` package is installed, a fraction of the lower-case content
   words (not stop words, at least 4 letters) is replaced by a word drawn from the
   real frequency distribution of that language (wordfreq's lists are built from
   Wikipedia, subtitles, news, books and web text).  Without wordfreq the
   replacement is off and the file name says so (``-nolex``).

Everything is drawn from ``random.Random(seed)``, so the same seed, language, size
and library version give the same bytes.  Files are cached under ``bench/data/``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["ensure_corpus", "ensure_dup_corpus", "truth_path_for", "corpus_meta",
           "shingles", "jaccard", "DATA_DIR", "LANGS", "DUP_LEVELS"]

GEN_VERSION = 1
LANGS = ("fr", "en")
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CORPUS_BENCH_DATA", ROOT / "bench" / "data"))
SEEDS_DIR = ROOT / "seeds"

#: Jaccard levels (word 5-shingles) at which near-duplicates are planted.
DUP_LEVELS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5)
#: Ground truth lists every pair at or above this exact Jaccard (planted or not).
TRUTH_MIN_JACCARD = 0.2
SHINGLE = 5

_LEX_RATE = 0.3          # share of eligible content words replaced (ordinary corpora)
_LEX_RATE_DUP = 0.6      # originals of the duplicate corpus: keep chance overlaps low
_LEX_TOP = 150_000

_WORD_RE = re.compile(r"\w+")
_SENT_SPLIT = re.compile(r"(?<=[.!?…])[\"»”’)]?\s+(?=[«\"“(A-ZÀ-ÖØ-Þ0-9])")
_CORE = re.compile(r"^(\W*)([^\W\d_]+)(\W*)$")
_LETTERS = {"fr": re.compile(r"^[a-zàâäçéèêëîïôöùûüÿœæ]{4,}$"), "en": re.compile(r"^[a-z]{4,}$")}
_END = "\x00"


# ---------------------------------------------------------------- real sources

def _english_paragraphs() -> list[str]:
    """Prose paragraphs of the Python reference manual (pydoc_data.topics, PSF licence)."""
    from pydoc_data.topics import topics
    paras = []
    for key in sorted(topics):
        block: list[str] = []
        for line in topics[key].splitlines() + [""]:
            if line.strip() == "":
                if block:
                    paras.append(" ".join(block))
                block = []
                continue
            # indented lines are code, grammar or tables; rules are headings' underlines
            if line[:1].isspace() or set(line.strip()) <= set("*=-~^\"'+|") or ">>>" in line:
                block = []
                continue
            block.append(line.strip())
    out = []
    for p in paras:
        letters = sum(c.isalpha() or c.isspace() for c in p)
        if len(p) >= 80 and letters / len(p) > 0.85 and "::" not in p:
            out.append(p)
    return out


def _french_paragraphs() -> list[str]:
    """Paragraphs of the five French news articles in seeds/ (one paragraph a line)."""
    files = sorted(SEEDS_DIR.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no French source text: {SEEDS_DIR}/*.txt is missing")
    paras = []
    for f in files:
        paras += [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if len(ln.strip()) > 40]
    return paras


@lru_cache(maxsize=4)
def _sentences(lang: str) -> tuple[tuple[str, ...], ...]:
    paras = {"fr": _french_paragraphs, "en": _english_paragraphs}[lang]()
    sents = []
    for p in paras:
        for s in _SENT_SPLIT.split(p):
            toks = tuple(s.split())
            if 4 <= len(toks) <= 80:
                sents.append(toks)
    return tuple(sents)


@lru_cache(maxsize=4)
def _chain(lang: str):
    """Order-2 word Markov chain: (w1, w2) -> successors (with repetition = frequency)."""
    succ: dict[tuple[str, str], list[str]] = {}
    starts = []
    for toks in _sentences(lang):
        starts.append((toks[0], toks[1]))
        seq = list(toks) + [_END]
        for i in range(len(seq) - 2):
            succ.setdefault((seq[i], seq[i + 1]), []).append(seq[i + 2])
    return starts, succ


@lru_cache(maxsize=4)
def _state_chain(lang: str):
    """The chain of :func:`_chain` with each (w1, w2) state numbered, for a faster walk.

    Returns ``(start_states, transitions)``: ``start_states[i]`` is ``(w1, w2, state)`` for
    ``starts[i]``; ``transitions[state]`` lists ``(w3, next_state)`` in the order (and with the
    repetitions) of ``succ[(w1, w2)]``, ``next_state`` -1 where ``(w2, w3)`` has no successor.
    The walk draws the same random numbers as one over ``succ``, so the bytes are unchanged.
    """
    starts, succ = _chain(lang)
    ids = {key: i for i, key in enumerate(succ)}
    transitions = [tuple((w3, ids.get((key[1], w3), -1)) for w3 in nxt) for key, nxt in succ.items()]
    return tuple((w1, w2, ids[(w1, w2)]) for w1, w2 in starts), tuple(transitions)


@lru_cache(maxsize=8)
def _replaceable(lang: str, stop: frozenset) -> dict[str, tuple[str, str]]:
    """Token -> (leading punctuation, trailing punctuation) for every token of the source whose
    core is a lower-case content word (the ones the lexical replacement may swap)."""
    elig, out = _LETTERS[lang], {}
    for toks in _sentences(lang):
        for tok in toks:
            m = _CORE.match(tok)
            if m and elig.match(m.group(2)) and m.group(2) not in stop:
                out[tok] = (m.group(1), m.group(3))
    return out


def _stopwords(lang: str) -> frozenset[str]:
    try:
        from stop_words import get_stop_words
        return frozenset(get_stop_words({"fr": "french", "en": "english"}[lang]))
    except Exception:
        return frozenset()


@lru_cache(maxsize=4)
def _lexicon(lang: str):
    """(words, cumulative weights) of real content words, or None without wordfreq."""
    try:
        import wordfreq
    except ImportError:
        return None
    freqs = wordfreq.get_frequency_dict(lang, wordlist="large")
    ok, stop = _LETTERS[lang], _stopwords(lang)
    words, cum, total = [], [], 0.0
    for w, f in freqs.items():   # ordered by frequency, most frequent first
        if ok.match(w) and w not in stop:
            words.append(w)
            total += f
            cum.append(total)
            if len(words) >= _LEX_TOP:
                break
    return words, cum


def _source_tag(lex: bool) -> str:
    return f"v{GEN_VERSION}" + ("" if lex else "-nolex")


# ---------------------------------------------------------------- generation

class _Writer:
    """Sentence -> paragraph -> document generator for one language and seed."""

    def __init__(self, lang: str, seed: int, lex_rate: float, salt: str = ""):
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
        self.lang = lang
        self.rng = random.Random(f"{lang}:{seed}:{salt}")
        self.starts, self.succ = _chain(lang)
        lexicon = _lexicon(lang)
        self.lex = lexicon if lex_rate > 0 else None
        self.lex_rate = lex_rate if lexicon else 0.0
        self.stop = _stopwords(lang)
        self.eligible = _LETTERS[lang]
        self._draws: list[str] = []
        self.start_states, self.transitions = _state_chain(lang)
        self.replaceable = _replaceable(lang, self.stop)

    def _draw_word(self) -> str:
        if not self._draws:
            words, cum = self.lex
            self._draws = self.rng.choices(words, cum_weights=cum, k=4096)
        return self._draws.pop()

    def sentence(self) -> str:
        # Hot loop of the generator (about 40 draws a sentence): numbered states instead of
        # tuple keys, rng._randbelow (what randrange(n) calls for n > 0) and the replaceable
        # tokens looked up in a table instead of three regex matches.  The sequence of random
        # draws, and therefore the output, is that of the plain walk over self.succ.
        below = self.rng._randbelow
        w1, w2, state = self.start_states[below(len(self.start_states))]
        out = [w1, w2]
        transitions = self.transitions
        for _ in range(88):                       # at most 90 words
            if state < 0:
                break
            nxt = transitions[state]
            w3, state = nxt[below(len(nxt))] if len(nxt) > 1 else nxt[0]
            if w3 == _END:
                break
            out.append(w3)
        if self.lex_rate:
            rate, random, split = self.lex_rate, self.rng.random, self.replaceable
            for i, tok in enumerate(out):
                around = split.get(tok)
                if around is not None and random() < rate:
                    out[i] = around[0] + self._draw_word() + around[1]
        return " ".join(out)

    def document(self, min_chars: int = 300, max_chars: int = 5000) -> str:
        rng = self.rng
        target = min(max_chars, max(min_chars, int(rng.lognormvariate(7.2, 0.65))))  # median ~1.3 kB
        paras, size = [], 0
        while size < target:
            k = rng.randint(1, 6)
            p = " ".join(self.sentence() for _ in range(k))
            paras.append(p)
            size += len(p) + 1
        return "\n".join(paras)


def _fmt_mb(mb: float) -> str:
    return f"{mb:g}".replace(".", "p")


def _atomic_write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line)
    os.replace(tmp, path)


def _doc_line(doc_id: str, text: str) -> str:
    return json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n"


def corpus_meta(path: Path) -> dict:
    """Size facts of a JSONL corpus (cached beside it as ``<name>.meta.json``)."""
    path = Path(path)
    meta_path = path.with_name(path.name + ".meta.json")
    st = path.stat()
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("bytes") == st.st_size and meta.get("mtime_ns") == st.st_mtime_ns:
                return meta
        except (OSError, ValueError):
            pass
    docs = text_bytes = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                docs += 1
                text_bytes += len(json.loads(line)["text"].encode("utf-8"))
    return _write_meta(path, docs, text_bytes)


def _write_meta(path: Path, docs: int, text_bytes: int) -> dict:
    """Write (best effort) and return the ``.meta.json`` of a corpus whose counts are known."""
    path = Path(path)
    st = path.stat()
    meta = {"path": str(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns,
            "docs": docs, "text_bytes": text_bytes}
    try:
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, indent=1))
    except OSError:
        pass
    return meta


def ensure_corpus(lang: str, mb: float, seed: int = 0) -> Path:
    """Path of a JSONL corpus (``{"id", "text"}`` a line) of about ``mb`` MB (10^6 bytes).

    Built on first use and cached under ``bench/data/``; the same arguments give
    the same bytes.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if not (isinstance(mb, (int, float)) and mb > 0):
        raise ValueError(f"mb must be a positive number, got {mb!r}")
    lex = _lexicon(lang) is not None
    path = DATA_DIR / f"{lang}-{_fmt_mb(mb)}MB-seed{seed}-{_source_tag(lex)}.jsonl"
    if path.exists():
        return path
    target = int(mb * 1_000_000)
    w = _Writer(lang, seed, _LEX_RATE)
    counts = {"docs": 0, "text_bytes": 0}

    def lines():
        size = 0
        for i in itertools.count():
            text = w.document()
            line = _doc_line(f"{lang}-s{seed}-{i:08d}", text)
            size += len(line.encode("utf-8"))
            counts["docs"] += 1
            counts["text_bytes"] += len(text.encode("utf-8"))
            yield line
            if size >= target:
                return

    _atomic_write_lines(path, lines())
    _write_meta(path, counts["docs"], counts["text_bytes"])   # no second pass over a 1 GB file
    return path


# ---------------------------------------------------------------- near-duplicates

def shingles(text: str, k: int = SHINGLE) -> set[tuple[str, ...]]:
    """Word k-shingles of the normalised text (NFKC, casefold, tokens = ``\\w+`` runs).

    A document with fewer than k tokens has one shingle: all its tokens.
    """
    toks = _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(toks) < k:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + k]) for i in range(len(toks) - k + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _mutate(text: str, target: float, rng: random.Random, w: _Writer) -> tuple[str, float]:
    """Edit words of ``text`` until its 5-shingle Jaccard with the original is closest to target."""
    base = shingles(text)
    if target >= 1.0:
        return text, 1.0
    words = text.split(" ")
    n = len(words)
    # a fixed random edit script; the first k edits are applied, k found by bisection
    script = []
    for _ in range(n):
        op = rng.random()
        pos = rng.random()
        word = w._draw_word() if w.lex else words[rng.randrange(n)]
        script.append((0 if op < 0.6 else 1 if op < 0.8 else 2, pos, word))

    def apply(k: int) -> str:
        ws = list(words)
        for op, pos, word in script[:k]:
            i = min(int(pos * len(ws)), len(ws) - 1)
            if op == 0:
                ws[i] = word
            elif op == 1 and len(ws) > 10:
                del ws[i]
            else:
                ws.insert(i, word)
        return " ".join(ws)

    lo, hi = 0, len(script)
    while lo < hi:                       # smallest k with J(k) <= target
        mid = (lo + hi) // 2
        if jaccard(base, shingles(apply(mid))) <= target:
            hi = mid
        else:
            lo = mid + 1
    best = min({max(lo - 1, 1), lo}, key=lambda k: abs(jaccard(base, shingles(apply(k))) - target))
    out = apply(best)
    return out, jaccard(base, shingles(out))


def truth_path_for(corpus_path: Path) -> Path:
    """The ground-truth Parquet file of a corpus made by :func:`ensure_dup_corpus`."""
    p = Path(corpus_path)
    return p.with_name(p.name.replace(".jsonl", ".truth.parquet"))


def _all_pairs_jaccard(shingle_sets: list[set], min_j: float) -> list[tuple[int, int, float]]:
    """Exact Jaccard of every pair of documents sharing shingles, kept when >= min_j."""
    import numpy as np
    from scipy import sparse
    vocab: dict = {}
    rows, cols = [], []
    for d, s in enumerate(shingle_sets):
        for sh in s:
            cols.append(vocab.setdefault(sh, len(vocab)))
            rows.append(d)
    n = len(shingle_sets)
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n, len(vocab)))
    sizes = np.asarray(m.sum(axis=1)).ravel()
    mt = m.T.tocsr()
    out = []
    for lo in range(0, n, 1000):
        inter = (m[lo:lo + 1000] @ mt).tocoo()
        a, b, c = inter.row + lo, inter.col, inter.data
        keep = a < b
        a, b, c = a[keep], b[keep], c[keep]
        j = c / (sizes[a] + sizes[b] - c)
        sel = j >= min_j
        out += zip(a[sel].tolist(), b[sel].tolist(), j[sel].tolist())
    return out


def ensure_dup_corpus(lang: str, n_docs: int, seed: int = 0) -> tuple[Path, Path]:
    """A corpus with planted near-duplicates and its exact ground truth.

    About 30% of the ``n_docs`` documents are edited copies of another document,
    planted at the Jaccard levels of :data:`DUP_LEVELS` (word 5-shingles after
    NFKC + casefold, see :func:`shingles`).  The ground truth (Parquet) lists
    every pair of documents whose exact Jaccard is at least
    :data:`TRUTH_MIN_JACCARD`, planted or not, with columns ``doc_a``, ``doc_b``
    (ids, ``doc_a < doc_b``), ``jaccard`` (exact), ``planted`` (bool) and
    ``target`` (the planted level, NaN for other pairs).

    Returns ``(corpus_path, truth_path)``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if not (isinstance(n_docs, int) and n_docs >= 2):
        raise ValueError(f"n_docs must be an integer >= 2, got {n_docs!r}")
    lex = _lexicon(lang) is not None
    path = DATA_DIR / f"{lang}-dup{n_docs}-seed{seed}-{_source_tag(lex)}.jsonl"
    truth = truth_path_for(path)
    if path.exists() and truth.exists():
        return path, truth
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(f"dup:{lang}:{seed}:{n_docs}")
    w = _Writer(lang, seed, _LEX_RATE_DUP, salt="dup")
    n_dups = max(1, round(0.3 * n_docs))
    n_orig = n_docs - n_dups
    texts = [w.document(min_chars=800, max_chars=6000) for _ in range(n_orig)]
    planted = {}                                  # (orig index, dup index) -> target
    for j in range(n_dups):
        src = rng.randrange(n_orig)
        level = DUP_LEVELS[j % len(DUP_LEVELS)]
        text, _ = _mutate(texts[src], level, rng, w)
        planted[(src, len(texts))] = level
        texts.append(text)
    order = list(range(len(texts)))
    rng.shuffle(order)                            # duplicates are not next to their source
    pos = {old: new for new, old in enumerate(order)}
    ids = [f"{lang}-d{seed}-{i:07d}" for i in range(len(texts))]
    _atomic_write_lines(path, (_doc_line(ids[pos[old]], texts[old]) for old in order))

    sets = [shingles(t) for t in texts]
    pairs = _all_pairs_jaccard(sets, TRUTH_MIN_JACCARD)
    found = {(a, b) for a, b, _ in pairs}
    for (a, b) in planted:                        # a planted pair is always listed
        if (min(a, b), max(a, b)) not in found:
            pairs.append((min(a, b), max(a, b), jaccard(sets[a], sets[b])))
    rows = []
    for a, b, j in pairs:
        ia, ib = sorted((ids[pos[a]], ids[pos[b]]))
        target = planted.get((a, b), planted.get((b, a)))
        rows.append((ia, ib, float(j), target is not None, float("nan") if target is None else target))
    rows.sort()
    table = pa.table({
        "doc_a": pa.array([r[0] for r in rows], pa.string()),
        "doc_b": pa.array([r[1] for r in rows], pa.string()),
        "jaccard": pa.array([r[2] for r in rows], pa.float64()),
        "planted": pa.array([r[3] for r in rows], pa.bool_()),
        "target": pa.array([r[4] for r in rows], pa.float64()),
    })
    tmp = truth.with_name(f".{truth.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, truth)
    corpus_meta(path)
    return path, truth


# ---------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.corpus_gen", description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", default="fr", help="fr, en, or both separated by a comma")
    ap.add_argument("--mb", type=float, default=10.0, help="size in MB (10^6 bytes) of the JSONL file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dup", type=int, default=None, metavar="N_DOCS",
                    help="build the near-duplicate corpus of N_DOCS documents (with ground truth) instead")
    args = ap.parse_args(argv)
    for lang in args.lang.split(","):
        lang = lang.strip()
        if lang not in LANGS:
            print(f"error: --lang must be fr or en, got {lang!r}", file=sys.stderr)
            return 2
        if args.dup is not None:
            p, t = ensure_dup_corpus(lang, args.dup, args.seed)
            print(f"{p}\n{t}")
        else:
            p = ensure_corpus(lang, args.mb, args.seed)
            m = corpus_meta(p)
            print(f"{p}  ({m['bytes'] / 1e6:.1f} MB, {m['docs']} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
