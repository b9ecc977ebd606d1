"""The byte-reading kernels under ``NUMBA_BOUNDSCHECK=1``: no index ever leaves its array.

A subprocess (boundscheck is fixed when numba compiles, so it needs its own process and its
own cache directory: a kernel cached without bounds checks would be reused) runs the
reader check, the tokenizer passes, char n-grams, the co-occurrence ``text_types`` pass and
the MinHash signature pass once over a few KB of random bytes, with sequences cut short at
the end of documents and at the very end of the buffer.  Any out-of-bounds read or write
raises IndexError there, and the subprocess exits non-zero.  The ``parallel=True`` kernels
are compiled serially for this (numba drops exceptions raised inside ``prange``); the
scalar cores they call are the ones every kernel uses.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(r'''
    import numpy as np
    from numba import njit

    @njit
    def _past_the_end(a):
        return a[a.size]

    try:   # the harness itself: bounds checking is on in this process
        _past_the_end(np.zeros(3, np.uint8))
        raise SystemExit("NUMBA_BOUNDSCHECK is not in effect")
    except IndexError:
        pass

    from engine.cooc import _TypeTable
    from engine.minhash import MinHashConfig, _fused_args, permutations
    from engine.normalize import get_tables, max_expansion
    from kernels.cpu import cooc, minhash, text

    def serial(kernel):
        # numba loses an exception raised inside a prange loop (the IndexError of a bounds
        # check there just ends that thread's chunk), so compile the kernel's own code
        # again without parallel: the same indexing, and every exception surfaces
        return njit(kernel.py_func)

    doc_flaws, norm_tok_counts, norm_tok_write, tokenize_normalized, codepoint_counts, char_ngrams = (
        serial(getattr(text, k)) for k in ("doc_flaws", "norm_tok_counts", "norm_tok_write",
                                           "tokenize_normalized", "codepoint_counts", "char_ngrams"))
    text_types = serial(cooc.text_types)
    text_signatures = serial(minhash.text_signatures)

    rng = np.random.default_rng(20240611)
    TEXT = "Ça va? ﬁne Straße 日本語 😀 e\u0301te\u0301 Ⅻ ½ ﷺ l'IA, aujourd'hui.".encode()
    docs = []
    for k in range(120):
        kind = k % 4
        n = int(rng.integers(0, 60))
        if kind == 0:     # uniform random bytes
            d = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        elif kind == 1:   # mostly high bytes: lead bytes, continuation bytes, F5-FF
            d = rng.integers(0x80, 0x100, n, dtype=np.uint8).tobytes()
        elif kind == 2:   # valid text with random bytes spliced in
            p = int(rng.integers(0, len(TEXT)))
            d = TEXT[:p] + rng.integers(0x80, 0x100, 3, dtype=np.uint8).tobytes() + TEXT[p:]
        else:             # valid text cut anywhere (often inside a sequence)
            d = TEXT[:int(rng.integers(0, len(TEXT)))]
        # end most documents on a lead byte whose sequence the next document would complete
        docs.append(d + (b"\xf0\x9f\x98" if k % 3 == 0 else b"\xe2" if k % 3 == 1 else b""))
    docs.append(b"\xf4")   # the buffer ends inside a sequence
    off = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=off[1:])
    data = np.frombuffer(b"".join(docs), np.uint8)
    nd = len(docs)
    t = get_tables()
    tabs = (t.flags, t.map_off, t.map_len, t.map_cps)

    flaws = doc_flaws(data, off, t.flags, True)
    assert (flaws == 3).sum() > nd // 2, flaws   # most are invalid UTF-8

    # tokenize: counting pass, then the writing pass into exactly sized outputs
    lens, ntok = norm_tok_counts(data, off, *tabs)
    lens_w = np.maximum(lens, 0)
    ntok_w = np.where(lens >= 0, ntok, 0)
    n_off = np.zeros(nd + 1, np.int64)
    np.cumsum(lens_w, out=n_off[1:])
    t_off = np.zeros(nd + 1, np.int64)
    np.cumsum(ntok_w, out=t_off[1:])
    nt = int(t_off[-1])
    norm = np.empty(int(n_off[-1]), np.uint8)
    t_start, t_len = np.empty(nt, np.int64), np.empty(nt, np.int32)
    t_nch, t_hash = np.empty(nt, np.int32), np.empty(nt, np.uint64)
    norm_tok_write(data, off, *tabs, lens, n_off, norm, t_off, t_start, t_len, t_nch, t_hash)
    norm.tobytes().decode("utf-8")   # what the kernels write is valid UTF-8
    tokenize_normalized(data, off, t.flags)   # the slow path's tokenizer, on raw bytes too

    # char n-grams, on raw bytes and on the normalised text
    for buf, o in ((data, off), (norm, n_off)):
        m = np.maximum(codepoint_counts(buf, o) - 3 + 1, 0)
        c_off = np.zeros(nd + 1, np.int64)
        np.cumsum(m, out=c_off[1:])
        k = int(c_off[-1])
        char_ngrams(buf, o, 3, c_off, np.empty(k, np.uint64), np.empty(k, np.int64), np.empty(k, np.int32))

    # co-occurrence vocabulary pass (one part: the table sized to hold everything)
    types = _TypeTable(cap=1 << 12, parts=1)
    out = np.empty((1, data.size + nd + 1), np.int32)
    resume, d_end, full = np.zeros(1, np.int64), np.full(1, nd, np.int64), np.zeros(1, np.int8)
    text_types(data, off, *tabs, np.int64(max_expansion(t)), np.empty(0, np.uint64), np.int64(1),
               resume, d_end, types.tab, types.cap - 1, types.used, types.limit, types.count, types.pos,
               types.len, types.pool, types.pool_used, out, np.zeros(1, np.int64), np.zeros(nd, np.int64), full)
    assert resume[0] == nd and full[0] == 0

    # MinHash signatures straight from the bytes, word and char shingles
    for shingle in ("word:2", "char:3"):
        cfg = MinHashConfig(shingle=shingle, perms=8, seed=1)
        pa, pb = permutations(cfg.perms, cfg.seed)
        text_signatures(data, off, *_fused_args(cfg), pa, pb, np.empty((nd, cfg.perms), np.uint32),
                        np.empty(nd, np.int64))
    print("ok", data.size, "bytes", nd, "documents")
''')


def test_kernels_stay_in_bounds_on_random_bytes(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_DISABLE_JIT", "NUMBA_ENABLE_CUDASIM")}
    env.update(NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-4000:]}"
    assert r.stdout.startswith("ok"), r.stdout
