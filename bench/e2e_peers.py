"""The peers of the end-to-end rows, each a whole program run as its own process.

    python -m bench.e2e_peers polars-ngrams  CORPUS.jsonl OUT.parquet
    python -m bench.e2e_peers duckdb-cooc    CORPUS.jsonl OUT.parquet
    python -m bench.e2e_peers rensa-minhash  CORPUS.jsonl OUT.parquet

What a user who picked that tool instead of ``corpus`` would write: read the JSONL file,
do the job, write the result.  The functions between the ``# --- peer:`` markers are
quoted in bench/README.md (keep the two in step).  Only the peer's own module is imported
(start-up is part of what is measured).
"""
from __future__ import annotations

import sys

NGRAM_N, NGRAM_TOP = 3, 100
COOC_WINDOW, COOC_MIN_COUNT, COOC_MAX_VOCAB, COOC_TOP = 5, 2, 50000, 1000
MINHASH_PERMS, MINHASH_THRESHOLD, MINHASH_BANDS, MINHASH_SHINGLE = 128, 0.8, 16, 5


# --- peer: polars-ngrams
def polars_ngrams(path: str, out: str) -> None:
    """Word 1-3 grams: count and documents containing them, top 100 per n (polars)."""
    import polars as pl
    docs = pl.scan_ndjson(path, schema={"id": pl.String, "text": pl.String})
    toks = (docs.with_row_index("doc")
            .select("doc", pl.col("text").str.to_lowercase().str.extract_all(r"\w+").alias("w"))
            .explode("w").drop_nulls("w")
            .collect())
    tops = []
    for n in range(1, NGRAM_N + 1):
        gram = pl.concat_str([pl.col("w").shift(-k) for k in range(n)], separator=" ")
        same_doc = pl.col("doc").shift(-(n - 1)) == pl.col("doc")   # n-grams stay inside a document
        tops.append(toks.lazy()
                    .select("doc", gram.alias("ngram"), same_doc.alias("inside"))
                    .filter("inside")
                    .group_by("ngram")
                    .agg(pl.len().alias("count"), pl.col("doc").n_unique().alias("doc_freq"))
                    .sort(["count", "ngram"], descending=[True, False])
                    .head(NGRAM_TOP)
                    .with_columns(pl.lit(n).alias("n")))
    pl.concat(pl.collect_all(tops)).write_parquet(out)
# --- end


# --- peer: duckdb-cooc
COOC_SQL = r"""
WITH docs AS (
    SELECT regexp_extract_all(lower(text), '[\pL\pN\pM_]+') AS w
    FROM read_json(?, format = 'newline_delimited', columns = {id: 'VARCHAR', text: 'VARCHAR'})
),
pairs AS (      -- every token with each of the next W tokens of its document
    SELECT unnest(flatten(list_transform(range(1, $window + 1), lambda d:
               list_transform(range(1, len(w) - d + 1), lambda i: [w[i], w[i + d]])))) AS p
    FROM docs
),
terms AS (      -- the vocabulary: min count, then the most frequent (ties by term)
    SELECT t FROM (SELECT unnest(w) AS t FROM docs) GROUP BY t HAVING count(*) >= $min_count
    ORDER BY count(*) DESC, t LIMIT $max_vocab
),
counts AS (     -- unordered pairs of vocabulary terms
    SELECT least(p[1], p[2]) AS a, greatest(p[1], p[2]) AS b, count(*)::DOUBLE AS k
    FROM pairs WHERE p[1] <> p[2] GROUP BY ALL   -- a term with itself is not a pair
),
kept AS (
    SELECT c.* FROM counts c SEMI JOIN terms ta ON c.a = ta.t SEMI JOIN terms tb ON c.b = tb.t
),
sym AS (SELECT a AS t, k FROM kept UNION ALL SELECT b, k FROM kept),
marg AS (SELECT t, sum(k) AS r FROM sym GROUP BY t),
total AS (SELECT sum(r) AS n FROM marg),
cells AS (
    SELECT a, b, k, ma.r AS ra, mb.r AS rb, n FROM kept
    JOIN marg ma ON kept.a = ma.t JOIN marg mb ON kept.b = mb.t, total
)
SELECT a, b, k AS count, ln(k * n / (ra * rb)) AS pmi,
       2 * (k * ln(k * n / (ra * rb))
            + CASE WHEN ra - k > 0 THEN (ra - k) * ln((ra - k) * n / (ra * (n - rb))) ELSE 0 END
            + CASE WHEN rb - k > 0 THEN (rb - k) * ln((rb - k) * n / ((n - ra) * rb)) ELSE 0 END
            + CASE WHEN n - ra - rb + k > 0
                   THEN (n - ra - rb + k) * ln((n - ra - rb + k) * n / ((n - ra) * (n - rb)))
                   ELSE 0 END) AS llr
FROM cells ORDER BY llr DESC, a, b LIMIT $top
"""


def duckdb_cooc(path: str, out: str) -> None:
    """Window-5 co-occurrence, vocabulary min count 2 / 50,000 terms, LLR, top 1000 (DuckDB)."""
    import duckdb
    sql = (COOC_SQL.replace("$window", str(COOC_WINDOW)).replace("$min_count", str(COOC_MIN_COUNT))
           .replace("$max_vocab", str(COOC_MAX_VOCAB)).replace("$top", str(COOC_TOP)))
    con = duckdb.connect()
    con.execute(f"COPY ({sql.replace('?', repr(path))}) TO {out!r} (FORMAT parquet)")
# --- end


# --- peer: rensa-minhash
def rensa_minhash(path: str, out: str) -> None:
    """Word 5-gram shingles, RMinHash 128 permutations, RMinHashLSH insert + duplicate flags (rensa)."""
    import json
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq
    from rensa import RMinHash, RMinHashLSH
    word = re.compile(r"\w+")
    ids, shingles = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            toks = word.findall(doc["text"].lower())
            k = MINHASH_SHINGLE
            ids.append(doc["id"])
            shingles.append([" ".join(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))])
    sigs = RMinHash.digest_matrix_from_token_sets(shingles, MINHASH_PERMS, 42)
    lsh = RMinHashLSH(MINHASH_THRESHOLD, MINHASH_PERMS, MINHASH_BANDS)
    lsh.insert_matrix(sigs)
    dup = lsh.query_duplicate_flags_matrix(sigs)
    pq.write_table(pa.table({"id": ids, "duplicate": dup}), out)
# --- end


PEERS = {"polars-ngrams": polars_ngrams, "duckdb-cooc": duckdb_cooc, "rensa-minhash": rensa_minhash}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in PEERS:
        print(f"usage: python -m bench.e2e_peers {{{','.join(PEERS)}}} CORPUS.jsonl OUT.parquet",
              file=sys.stderr)
        return 2
    PEERS[argv[0]](argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
