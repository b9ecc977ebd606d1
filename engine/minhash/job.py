"""The MinHash job in the three steps of :mod:`engine.job`, and :func:`run` doing them in
one process.

``map_partition(batches, backend, config) -> MinHashPartial``
    Signatures of one partition: plain numpy arrays (below) and a :class:`JobStats`.
``combine(partials) -> MinHashPartial``
    Concatenation in list order: document ``i`` of the combined partial is the one the
    whole corpus read in one process numbers ``i``; exact.
``finish(partial, config) -> MinHashResult``
    LSH bands, candidate pairs, verification, connected clusters (representative = the
    lowest corpus index of a cluster).

Texts: ``run(batch_from_texts(["un texte", "un autre"]))`` (:func:`engine.corpus.batch_from_texts`);
a list of ``str`` is a list of paths.
"""
from __future__ import annotations

import time
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from engine.backend import get_backend
from engine.corpus import Batch
from engine.corpus.batch import DeviceBatch
from engine.corpus.prefetch import read_ahead
from engine.job import as_batches
from engine.minhash.config import MinHashConfig
from engine.minhash.lsh import candidate_pairs, connected_clusters, exact_jaccard, pair_estimates
from engine.minhash.result import MinHashResult
from engine.minhash.signatures import SignatureSet, TextSource, batch_signatures, shingles, signatures_from_hashes
from engine.minhash.store import _check_meta, _concat
from engine.stats import JobStats

__all__ = ["MinHashPartial", "SignatureConsumer", "map_partition", "combine", "finish", "run", "compute_signatures"]


def _flat_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``strings`` concatenated, and int64 offsets (lone surrogates kept)."""
    enc = [s.encode("utf-8", "surrogatepass") for s in strings]
    off = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(e) for e in enc], out=off[1:])
    return np.frombuffer(b"".join(enc), np.uint8).copy(), off


def _strings(data: np.ndarray, off: np.ndarray) -> list[str]:
    raw = data.tobytes()
    return [raw[off[i]:off[i + 1]].decode("utf-8", "surrogatepass") for i in range(off.size - 1)]


@dataclass
class MinHashPartial:
    """The signatures of a partition: plain arrays, no Python objects but the stats.

    Attributes
    ----------
    sig : uint32 [n_docs, perms], the signatures.
    n_shingles : int64 [n_docs], raw shingles per document (0 = empty document).
    id_data, id_offsets : uint8 / int64 [n_docs + 1]: document ``i``'s id is the UTF-8 of
        ``id_data[id_offsets[i]:id_offsets[i + 1]]``.
    text_data, text_offsets : the documents' UTF-8 the same way, for exact verification
        (``text_offsets`` is ``[0]`` when the texts are not kept: ``verify=False``).
    n_bytes : UTF-8 bytes of the partition's documents.
    backend : the backend's name (``cpu``, ``gpu``): ``finish`` runs there by default.
    stats : the partition's :class:`JobStats` (``signatures``, ``read`` seconds, ``shingles``).
    """
    sig: np.ndarray
    n_shingles: np.ndarray
    id_data: np.ndarray
    id_offsets: np.ndarray
    text_data: np.ndarray
    text_offsets: np.ndarray
    n_bytes: int = 0
    backend: str = "cpu"
    stats: JobStats = field(default_factory=lambda: JobStats(job="minhash"))
    holder: object = field(default=None, repr=False)   # the GPU backend holding ``sig`` (device_resident)

    @property
    def n_docs(self) -> int:
        return int(self.sig.shape[0])

    @property
    def has_texts(self) -> bool:
        return self.text_offsets.size == self.n_docs + 1

    @property
    def doc_ids(self) -> list[str]:
        return _strings(self.id_data, self.id_offsets)

    def signature_set(self, cfg: MinHashConfig, backend) -> SignatureSet:
        """The :class:`SignatureSet` of these documents (with their texts' source when kept);
        signatures left on a device by :func:`map_partition` stay there."""
        source = (TextSource.from_flat(cfg, get_backend(backend), self.text_data, self.text_offsets)
                  if self.has_texts else None)
        return SignatureSet(self.doc_ids, self.sig, self.n_shingles, cfg.signature_meta(), source,
                            int(self.n_bytes), holder=self.holder)

    def host(self) -> "MinHashPartial":
        """These signatures on the host (plain numpy arrays, as the contract's partials are)."""
        if self.holder is not None:
            if not isinstance(self.text_data, np.ndarray):   # texts of device batches
                self.text_data = self.holder.to_host(self.text_data)
            self.sig, self.holder = self.holder.to_host(self.sig), None
        return self


class _Grow:
    """A host array grown in place (``resize``: amortised, no second copy at the end)."""

    def __init__(self, dtype, width: int | None = None):
        self.width = width
        self.a = np.empty((0, width) if width else 0, dtype)
        self.n = 0

    def reserve(self, k: int) -> np.ndarray:
        """The next ``k`` rows (a view: write them before the next call)."""
        need = self.n + k
        if need > self.a.shape[0]:
            rows = max(need, self.a.shape[0] * 5 // 4, 1024)
            self.a.resize((rows, self.width) if self.width else rows, refcheck=False)
        view = self.a[self.n:need]
        self.n = need
        return view

    def done(self) -> np.ndarray:
        self.a.resize((self.n, self.width) if self.width else self.n, refcheck=False)
        return self.a


class SignatureConsumer:
    """The signatures of one partition, fed batch by batch in corpus order (host side):
    :meth:`add` (signatures from the batch's bytes, the CPU's fused kernel) or
    :meth:`add_tokens` (from an already tokenised batch: ``corpus analyze`` tokenises once for
    every analytic), then :meth:`partial` (what :func:`map_partition` returns).  The texts are
    kept, as :func:`map_partition` keeps them, only when ``keep`` (verification needs them)."""

    def __init__(self, backend, config: MinHashConfig | None = None, keep: bool | None = None,
                 stats: JobStats | None = None):
        self.cfg = config if config is not None else MinHashConfig()
        self.be = get_backend(backend)
        self.keep = self.cfg.verify if keep is None else bool(keep)
        self.stats = stats if stats is not None else JobStats(job="minhash", backend=self.be.describe())
        self.sig, self.text = _Grow(np.uint32, self.cfg.perms), _Grow(np.uint8)
        self.nsh, self.ids, self.text_off = [], [], [np.zeros(1, np.int64)]
        self.nbytes = 0

    def add(self, batch: Batch) -> None:
        """Signatures of one batch, computed from its bytes (:func:`batch_signatures`)."""
        with self.stats.stage("signatures"), self.be.count_into(self.stats):
            self.nsh.append(batch_signatures(batch, self.be, self.cfg, out=self.sig.reserve(batch.n_docs))[1])
        self._keep(batch)

    def add_tokens(self, batch: Batch, toks) -> None:
        """Signatures of one batch from its tokens ``toks`` (``tokenize(batch, backend,
        config.text)``): shingles -> signatures, the same bits as :meth:`add`."""
        with self.stats.stage("signatures"), self.be.count_into(self.stats):
            h, off = shingles(toks, self.cfg, self.be)
            self.sig.reserve(batch.n_docs)[...] = self.be.to_host(signatures_from_hashes(h, off, self.cfg, self.be))
            self.nsh.append(self.be.to_host(self.be.xp.diff(off)).astype(np.int64))
        self._keep(batch)

    def _keep(self, batch: Batch) -> None:
        if self.keep:
            lo, hi = int(batch.offsets[0]), int(batch.offsets[-1])
            base = self.text.n
            self.text.reserve(hi - lo)[:] = batch.data[lo:hi]
            self.text_off.append(batch.offsets[1:] - lo + base)
        self.ids.extend(batch.doc_ids)
        self.nbytes += batch.n_bytes

    def partial(self) -> MinHashPartial:
        """The partition's :class:`MinHashPartial` (call once, after the last batch)."""
        stats = self.stats
        n_sh = np.concatenate(self.nsh) if self.nsh else np.empty(0, np.int64)
        id_data, id_off = _flat_strings(self.ids)
        stats.documents = len(self.ids)
        stats.bytes = self.nbytes
        stats.counters.update(shingles=int(n_sh.sum()), empty_documents=int((n_sh == 0).sum()))
        return MinHashPartial(self.sig.done(), n_sh, id_data, id_off, self.text.done(),
                              np.concatenate(self.text_off) if self.keep else np.zeros(1, np.int64),
                              self.nbytes, self.be.name, stats)


def map_partition(batches: Iterable[Batch], backend="auto", config: MinHashConfig | None = None, *,
                  keep_texts: bool | None = None,
                  on_batch: Callable[[Batch], None] | None = None,
                  device_resident: bool = False) -> MinHashPartial:
    """Signatures (and, when ``keep_texts``, default ``config.verify``, the texts) of ``batches``.

    ``on_batch(batch)`` is called after each batch's signatures (the similarity matrix
    refuses a corpus that grows too large there).  ``device_resident`` (a GPU backend only):
    the signatures stay on the device (``partial.holder``), for :func:`finish` in the same
    process; :meth:`MinHashPartial.host` makes the partial plain numpy.
    """
    cfg = config if config is not None else MinHashConfig()
    be = get_backend(backend)
    if device_resident and be.pick(cpu=False, gpu=True):
        return _map_on_device(batches, be, cfg, cfg.verify if keep_texts is None else bool(keep_texts), on_batch)
    consumer = SignatureConsumer(be, cfg, keep_texts)
    # on the CPU the next batch is read on a thread while this one's signatures are computed
    # (the fused kernel releases the GIL); "read" is then the time spent waiting for it
    it = read_ahead(batches) if be.pick(cpu=True, gpu=False) else iter(batches)
    with closing(it) if hasattr(it, "close") else nullcontext():
        while True:
            # on a GPU the read copies the batch ahead (engine.gpu.transfer): counted as the job's
            with consumer.stats.stage("read"), consumer.be.count_into(consumer.stats):
                batch = next(it, None)
            if batch is None:
                break
            consumer.add(batch)
            if on_batch is not None:
                on_batch(batch)
    return consumer.partial()


def _map_on_device(batches, be, cfg: MinHashConfig, keep: bool, on_batch) -> MinHashPartial:
    """:func:`map_partition` with the signatures left on the GPU: per batch only the raw
    shingle counts (and the tokenizer's sizes) come back."""
    from engine.minhash.signatures import device_signatures
    stats = JobStats(job="minhash", backend=be.describe())
    sigs, nsh, ids, texts, text_off = [], [], [], [], [np.zeros(1, np.int64)]
    nbytes = base = 0
    it = iter(batches)
    while True:
        with stats.stage("read"), be.count_into(stats):   # the copy ahead (engine.gpu.transfer) too
            batch = next(it, None)
        if batch is None:
            break
        with stats.stage("signatures"), be.count_into(stats):
            s, n = device_signatures(batch, be, cfg)
        sigs.append(s)
        nsh.append(n)
        if keep:
            if isinstance(batch, DeviceBatch) and batch.source is not None:
                batch = batch.source     # copied from a host batch: its texts are on the host
            off = batch.host_offsets() if isinstance(batch, DeviceBatch) else batch.offsets - batch.offsets[0]
            lo = int(batch.offsets[0]) if not isinstance(batch, DeviceBatch) else None
            # a device batch's texts stay on the device (verification gathers them there)
            texts.append(batch.data[lo:lo + int(off[-1])] if lo is not None else _device_text(batch, be))
            text_off.append(off[1:] + base)
            base += int(off[-1])
        ids.extend(batch.doc_ids)
        nbytes += batch.n_bytes
        if on_batch is not None:
            on_batch(batch)
    xp = be.xp
    sig = xp.concatenate(sigs) if len(sigs) > 1 else sigs[0] if sigs else xp.empty((0, cfg.perms), np.uint32)
    n_sh = np.concatenate(nsh) if nsh else np.empty(0, np.int64)
    id_data, id_off = _flat_strings(ids)
    stats.documents, stats.bytes = len(ids), nbytes
    stats.counters.update(shingles=int(n_sh.sum()), empty_documents=int((n_sh == 0).sum()))
    return MinHashPartial(sig, n_sh, id_data, id_off, _joined_texts(texts, be),
                          np.concatenate(text_off) if keep else np.zeros(1, np.int64),
                          nbytes, be.name, stats, holder=be)


def _device_text(batch, be):
    """The UTF-8 of a :class:`DeviceBatch`'s documents, on the device (a slice, no copy)."""
    lo = int(be.to_host(batch.offsets[:1])[0])
    return batch.data[lo:lo + batch.n_bytes]


def _joined_texts(texts: list, be):
    """The kept texts as one array: on the host, or on the device when any came from device
    batches (cuDF ingest), the host ones copied up once, counted."""
    if not texts:
        return np.empty(0, np.uint8)
    if all(isinstance(t, np.ndarray) for t in texts):
        return np.concatenate(texts)
    return be.xp.concatenate([be.to_device(t) if isinstance(t, np.ndarray) else t for t in texts])


def combine(partials: Sequence[MinHashPartial]) -> MinHashPartial:
    """The partials' documents in list order (the order of the corpus), stats merged;
    device-resident partials are brought to the host first."""
    partials = list(partials)
    if not partials:
        raise ValueError("combine needs at least one partial")
    if len(partials) == 1:
        return partials[0]
    partials = [p.host() for p in partials]
    widths = {p.sig.shape[1] for p in partials}
    if len(widths) != 1:
        raise ValueError(f"partials of different signature widths: {sorted(widths)}")

    def cat_offsets(offs, datas):
        shift = np.cumsum([0] + [d.size for d in datas[:-1]])
        return np.concatenate([offs[0][:1]] + [o[1:] + s for o, s in zip(offs, shift)])

    stats = JobStats()
    for p in partials:
        stats.merge(p.stats)
    texts = all(p.has_texts for p in partials)
    return MinHashPartial(
        np.concatenate([p.sig for p in partials]), np.concatenate([p.n_shingles for p in partials]),
        np.concatenate([p.id_data for p in partials]),
        cat_offsets([p.id_offsets for p in partials], [p.id_data for p in partials]),
        np.concatenate([p.text_data for p in partials]) if texts else np.empty(0, np.uint8),
        cat_offsets([p.text_offsets for p in partials], [p.text_data for p in partials])
        if texts else np.zeros(1, np.int64),
        sum(p.n_bytes for p in partials), partials[0].backend, stats)


def finish(partial: MinHashPartial, config: MinHashConfig | None = None, *, backend=None,
           base: SignatureSet | None = None) -> MinHashResult:
    """LSH, verification and clusters of the combined ``partial``, optionally after saved ``base``.

    With ``base`` (from :func:`engine.minhash.load_signatures`), the new documents are
    compared with each other and with the saved ones; pairs of two saved documents are
    not reported again, and pairs with a saved document are verified by their estimate
    (saved signatures carry no shingle sets).  ``backend``: default the partial's.
    """
    cfg = config if config is not None else MinHashConfig()
    be = get_backend(partial.backend if backend is None else backend)
    stats = JobStats().merge(partial.stats)
    new = partial.signature_set(cfg, be)
    if base is not None:
        _check_meta(base.meta, cfg)
    sigs = new if base is None else _concat(base, new)
    nb = 0 if base is None else base.n_docs
    bands, rows = cfg.lsh_params()
    with be.count_into(stats):
        return _finish(cfg, be, stats, sigs, new, nb, bands, rows)


def _finish(cfg, be, stats, sigs, new, nb, bands, rows) -> MinHashResult:
    with stats.stage("lsh"):
        live = np.flatnonzero(~sigs.empty)
        a, b = candidate_pairs(sigs.device_sig(be), live, bands, rows, cfg.max_bucket, be)
        if nb:
            sel = b >= nb  # at least one new document (a < b)
            a, b = a[sel], b[sel]
    with stats.stage("verify"):
        est = pair_estimates(sigs.device_sig(be), a, b, be)
        jac = np.full(a.size, np.nan)
        if cfg.verify:
            exact = a >= nb
            if exact.any():
                jac[exact] = exact_jaccard(new, a[exact] - nb, b[exact] - nb, be)
            score = np.where(exact, jac, est)
        else:
            score = est
        keep = score >= cfg.threshold  # rounding is monotone: no pair below the threshold
    pa_, pb_ = a[keep], b[keep]
    with stats.stage("clusters"):
        rep, size = connected_clusters(sigs.n_docs, pa_, pb_, be, stats)
    res = MinHashResult(cfg, sigs, bands, rows, a, b, pa_, pb_, est[keep], jac[keep], rep, size,
                        nb, stats.total_seconds, be.name, stats)
    s = res.summary()
    stats.counters.update(saved_documents=nb, bands=bands, rows=rows, candidate_pairs=s["candidate pairs"],
                          verified_pairs=s["verified pairs"], clusters=s["clusters"],
                          documents_removed=s["documents removed"])
    return res


def run(corpus, backend="auto", config: MinHashConfig | None = None, base: SignatureSet | None = None,
        on_batch=None, *, scheduler=None) -> MinHashResult:
    """Near-duplicates of ``corpus``: ``finish(combine([map_partition(...)]))`` in this process.

    Parameters
    ----------
    corpus : paths (a ``str``/``PathLike`` or a list of them), a :class:`CorpusReader`, a
        :class:`Batch` or batches (:func:`engine.job.as_batches`); texts:
        ``engine.corpus.batch_from_texts(texts)``.
    backend : ``auto``, ``cpu``, ``gpu`` or a backend.
    config : a :class:`MinHashConfig` (default: its defaults).
    base : saved signatures (:func:`engine.minhash.load_signatures`) to add the corpus to.
    scheduler : None (this process) or a cluster (:func:`engine.ngrams.run`): signatures
        computed there, the same result.
    """
    t0 = time.perf_counter()
    cfg = config if config is not None else MinHashConfig()
    be = get_backend(backend)
    if base is not None:
        _check_meta(base.meta, cfg)  # before any work
    if scheduler is not None:
        from engine.dist import run_distributed
        res = run_distributed("minhash", corpus, be, cfg, scheduler, base=base)
        res.seconds = time.perf_counter() - t0
        return res
    batches, reader = as_batches(corpus, be)
    # one process: a GPU's signatures stay on the device from map_partition to finish
    part = map_partition(batches, be, cfg, on_batch=on_batch, device_resident=True)
    res = finish(combine([part]), cfg, backend=be, base=base)
    if reader is not None:
        res.stats.add_read(reader.stats)
    res.seconds = time.perf_counter() - t0
    return res


# ---------------------------------------------------------------------------- legacy entry points
def compute_signatures(corpus, backend, cfg: MinHashConfig, keep_shingles: bool | None = None,
                       on_batch=None) -> SignatureSet:
    """The :class:`SignatureSet` of ``corpus`` (``map_partition``'s arrays, host side).

    With ``keep_shingles`` (default: ``cfg.verify``) the documents' texts are kept to
    rebuild shingle sets (``sigs.source``, ``sigs.sh_hash``).
    """
    be = get_backend(backend)
    batches, _ = as_batches(corpus)
    return map_partition(batches, be, cfg, keep_texts=keep_shingles, on_batch=on_batch).signature_set(cfg, be)
