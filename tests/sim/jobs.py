"""The three jobs as the simulator and GPU parity tests run them, and the tables each is
compared by (one definition for tests/sim and tests/gpu)."""
from engine import cooc, minhash, ngrams

JOBS = {"ngrams": (ngrams, ngrams.NgramConfig(n="1-3", top=100)),
        "cooc": (cooc, cooc.CoocConfig()),
        "minhash": (minhash, minhash.MinHashConfig())}


def tables(job, res):
    """The output tables of ``res``, a result of job ``job``: cooc its top 1000 rows, minhash
    its pairs and clusters."""
    if job == "cooc":
        return [res.table(None, 1000)]
    if job == "minhash":
        return [res.table("pairs"), res.table("clusters")]
    return [res.table()]
