"""Plain-Python oracle for co-occurrence: the README / issue 4 definitions, written literally.

Tokens: NFKC + casefold, ``\\w+`` (tests/reference.py), stop words dropped first.
Vocabulary: frequency >= min_count, the max_vocab most frequent, ties by term.
Pruned tokens keep their window positions (pairs with them are dropped).
"""
import collections
import math

from tests.reference import tokens


def stop_set(langs, strip_accents=False):
    from engine.text import _stopword_list
    out = set()
    for spec in langs:
        for w in _stopword_list(spec):
            out.update(tokens(w, strip_accents))
    return out


def doc_tokens(texts, stop=frozenset(), min_len=1, strip_accents=False):
    return [[t for t in tokens(x, strip_accents) if t not in stop and len(t) >= min_len] for x in texts]


def vocabulary(docs, min_count, max_vocab):
    freq = collections.Counter(t for d in docs for t in d)
    kept = sorted(((t, c) for t, c in freq.items() if c >= min_count), key=lambda tc: (-tc[1], tc[0]))
    return dict(kept[:max_vocab])


def cooc(docs, window=5, weighting="none", min_count=2, max_vocab=50000):
    """(vocab {term: freq}, M {(a, b): weight} full symmetric, T, marginals {a: m_a})."""
    vocab = vocabulary(docs, min_count, max_vocab)
    M = collections.defaultdict(float)
    if window == "doc":
        df = collections.Counter()
        for d in docs:
            s = sorted(set(t for t in d if t in vocab))
            df.update(s)
            for x in s:
                for y in s:
                    if x != y:
                        M[(x, y)] += 1
        return vocab, dict(M), len(docs), dict(df)
    for d in docs:
        for i in range(len(d)):
            for j in range(i + 1, min(i + window, len(d) - 1) + 1):
                a, b = d[i], d[j]
                if a not in vocab or b not in vocab:
                    continue
                w = 1.0 if weighting == "none" else 1.0 / (j - i)
                M[(a, b)] += w
                M[(b, a)] += w
    T = sum(M.values())
    m = collections.defaultdict(float)
    for (a, _b), v in M.items():
        m[a] += v
    return vocab, dict(M), T, dict(m)


def _xlogx(k, e):
    return 0.0 if k == 0 else k * math.log(k / e)


def measures(k, ma, mb, T):
    pmi = math.log(k * T / (ma * mb))
    den = -math.log(k / T)
    npmi = pmi / den if den > 0 else 1.0
    cells = [(k, ma, mb), (ma - k, ma, T - mb), (mb - k, T - ma, mb), (T - ma - mb + k, T - ma, T - mb)]
    g = 2.0 * sum(_xlogx(c, r * cc / T) for c, r, cc in cells)
    return {"pmi": pmi, "ppmi": max(pmi, 0.0), "npmi": npmi, "llr": max(g, 0.0)}


def table(docs, window=5, weighting="none", min_count=2, max_vocab=50000, measure="llr"):
    """Rows (term_a <= term_b, count, measures...) sorted by measure desc (to 1e-9), then terms."""
    vocab, M, T, m = cooc(docs, window, weighting, min_count, max_vocab)
    rows = []
    for (a, b), k in M.items():
        if a <= b:
            r = {"term_a": a, "term_b": b, "count": k}
            r.update(measures(k, m[a], m[b], T))
            rows.append(r)
    rows.sort(key=lambda r: (-round(r[measure], 9), r["term_a"], r["term_b"]))
    return vocab, rows
