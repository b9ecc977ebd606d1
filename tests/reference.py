"""Slow plain-Python oracles: the definitions, written the obvious way."""
import collections
import re
import unicodedata


def normalize(s: str, strip_accents: bool = False) -> str:
    t = unicodedata.normalize("NFKC", s).casefold()
    if strip_accents:
        t = "".join(c for c in unicodedata.normalize("NFD", t) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", t)


def tokens(s: str, strip_accents: bool = False) -> list:
    return re.findall(r"\w+", normalize(s, strip_accents))


def word_ngram_counts(docs, ns, stop=frozenset(), min_len=1):
    """{(ngram, n): (count, doc_freq)} with collections.Counter."""
    count, df = collections.Counter(), collections.Counter()
    for text in docs:
        toks = [t for t in tokens(text) if t not in stop and len(t) >= min_len]
        seen = set()
        for n in ns:
            for i in range(len(toks) - n + 1):
                g = (" ".join(toks[i:i + n]), n)
                count[g] += 1
                seen.add(g)
        df.update(seen)
    return {g: (c, df[g]) for g, c in count.items()}


def char_ngram_counts(docs, ns):
    count, df = collections.Counter(), collections.Counter()
    for text in docs:
        t = normalize(text)
        seen = set()
        for n in ns:
            for i in range(len(t) - n + 1):
                g = (t[i:i + n], n)
                count[g] += 1
                seen.add(g)
        df.update(seen)
    return {g: (c, df[g]) for g, c in count.items()}
