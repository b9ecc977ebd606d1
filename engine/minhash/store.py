"""Saved signatures (Parquet, checked before use) and the dedup output (JSONL)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine import arrow_arrays
from engine.corpus import CorpusError
from engine.errors import ParameterError
from engine.job import as_batches
from engine.minhash.config import _META_KEY, FAMILY, FORMAT_VERSION, MinHashConfig
from engine.minhash.signatures import SignatureSet

__all__ = ["save_signatures", "load_signatures", "write_dedup"]


def _concat(base: SignatureSet, new: SignatureSet) -> SignatureSet:
    return SignatureSet(list(base.doc_ids) + list(new.doc_ids), np.concatenate([base.sig, new.sig]),
                        np.concatenate([base.n_shingles, new.n_shingles]), new.meta, None,
                        base.n_bytes + new.n_bytes)


def _check_meta(meta: dict, cfg: MinHashConfig) -> None:
    want = cfg.signature_meta()
    for key, v in want.items():
        if meta.get(key) != v:
            raise ParameterError(f"--signatures: the saved signatures were made with {key}={meta.get(key)!r}, "
                                 f"this run uses {key}={v!r}; use the same settings to add documents")


def save_signatures(sigs: SignatureSet, path, plan=None) -> Path:
    """Write doc_id, n_shingles, signature (fixed-size list of uint32) to Parquet, atomically.

    Parameters
    ----------
    sigs : the signatures to save.
    path : a ``.parquet`` file.
    plan : the command's :class:`engine.output.OutputPlan` holding ``path`` as
        ``--save-signatures``: written to its temp, renamed when the plan commits.
        Without it, ``path`` is checked, written and renamed here.
    """
    import pyarrow.parquet as pq

    from engine.output import own_plan
    path = Path(path)
    perms = sigs.sig.shape[1]
    flat = arrow_arrays.numeric(sigs.sig, np.uint32)
    table = pa.table({
        "doc_id": arrow_arrays.strings(list(sigs.doc_ids)),
        "n_shingles": arrow_arrays.numeric(sigs.n_shingles, np.int64),
        "signature": pa.FixedSizeListArray.from_arrays(flat, perms),
    })
    meta = dict(sigs.meta, format=FORMAT_VERSION)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    with own_plan(plan, "--save-signatures", path, (".parquet",)) as p:
        pq.write_table(table, p.temp("--save-signatures"), compression="zstd")
    return path


def load_signatures(path) -> SignatureSet:
    """Read signatures written by :func:`save_signatures`, checking the file first.

    Raises
    ------
    CorpusError
        One line naming the file and what is wrong: missing, not Parquet, no or bad
        corpus-engine metadata, a missing column or one of the wrong type, null rows,
        signatures of another width than the metadata's ``perms``.  A file that is
        used anyway with a wrong width would shift every document's slots and lose
        its true pairs without a word, hence the checks before any use.
    """
    import pyarrow.parquet as pq
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"--signatures: no such file: {path}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as e:
        raise CorpusError(f"--signatures: {path} is not a Parquet file ({_first_line(e)})") from None
    meta = _signature_file_meta(schema, path)
    perms = meta["perms"]
    _check_signature_columns(schema, perms, path)
    try:
        table = pq.read_table(path, columns=list(_SIGNATURE_COLUMNS))
    except (pa.ArrowException, OSError) as e:
        raise CorpusError(f"--signatures: cannot read {path} ({_first_line(e)})") from None
    for name in _SIGNATURE_COLUMNS:
        _check_no_nulls(table.column(name), name, path)
    sig = _signature_matrix(table.column("signature").combine_chunks(), perms, path)
    n_sh = table.column("n_shingles").to_numpy().astype(np.int64)
    if n_sh.size and n_sh.min() < 0:
        raise CorpusError(f"--signatures: {path}: column 'n_shingles' has a negative count "
                          f"(row {int(np.argmax(n_sh < 0))})")
    return SignatureSet(table.column("doc_id").to_pylist(), sig, n_sh, meta)


# column -> (what its type must be, the check): as save_signatures writes them
_SIGNATURE_COLUMNS = {
    "doc_id": ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
    "n_shingles": ("an integer", pa.types.is_integer),
    "signature": ("a list of uint32", lambda t: (pa.types.is_fixed_size_list(t) or pa.types.is_list(t)
                                                  or pa.types.is_large_list(t))
                  and pa.types.is_uint32(t.value_type)),
}


def _first_line(e: Exception) -> str:
    """The first line of an exception's message (pyarrow's may span several)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _signature_file_meta(schema: pa.Schema, path: Path) -> dict:
    """The corpus-engine metadata of a signature file, checked for what loading relies on."""
    raw = (schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise CorpusError(f"--signatures: {path} has no corpus-engine signature metadata "
                          "(not a file written by --save-signatures)")
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise CorpusError(f"--signatures: {path}: its signature metadata is not a JSON object")
    if meta.get("format") != FORMAT_VERSION:
        raise CorpusError(f"--signatures: {path}: signature format {meta.get('format')!r}, "
                          f"this corpus-engine reads format {FORMAT_VERSION}")
    missing = [k for k in MinHashConfig().signature_meta() if k not in meta]
    if missing:
        raise CorpusError(f"--signatures: {path}: its metadata lacks {', '.join(missing)}")
    if meta["family"] != FAMILY:
        raise CorpusError(f"--signatures: {path}: hash family {meta['family']!r}, "
                          f"this corpus-engine computes {FAMILY!r}")
    perms = meta["perms"]
    if not isinstance(perms, int) or isinstance(perms, bool) or perms < 1:
        raise CorpusError(f"--signatures: {path}: metadata perms must be an integer >= 1, got {perms!r}")
    return meta


def _check_signature_columns(schema: pa.Schema, perms: int, path: Path) -> None:
    """Each column present with its type; a fixed-size signature of the metadata's width."""
    for name, (want, ok) in _SIGNATURE_COLUMNS.items():
        if name not in schema.names:
            raise CorpusError(f"--signatures: {path} has no column {name!r} "
                              f"(columns: {', '.join(schema.names) or 'none'})")
        t = schema.field(name).type
        if not ok(t):
            raise CorpusError(f"--signatures: {path}: column {name!r} is {t}, expected {want}")
    t = schema.field("signature").type
    if pa.types.is_fixed_size_list(t) and t.list_size != perms:
        raise CorpusError(f"--signatures: {path}: signatures of {t.list_size} values, "
                          f"the file's metadata says perms={perms}")


def _check_no_nulls(col: pa.ChunkedArray, name: str, path: Path) -> None:
    if col.null_count:
        first = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
        raise CorpusError(f"--signatures: {path}: column {name!r} has {col.null_count} null "
                          f"row(s) (first: row {first})")


def _signature_matrix(col: pa.Array, perms: int, path: Path) -> np.ndarray:
    """uint32 [docs, perms] from the signature column (no null rows), every row checked."""
    import pyarrow.compute as pc
    if not pa.types.is_fixed_size_list(col.type):  # a list column: the width is per row
        lens = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(lens != perms)
        if bad.size:
            raise CorpusError(f"--signatures: {path}: row {int(bad[0])} has a signature of "
                              f"{int(lens[bad[0]])} values, the file's metadata says perms={perms}")
    values = col.flatten()  # honours slicing, unlike .values
    if values.null_count:
        raise CorpusError(f"--signatures: {path}: column 'signature' holds {values.null_count} "
                          "null value(s)")
    sig = values.to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    return np.ascontiguousarray(sig.reshape(len(col), perms))


# ---------------------------------------------------------------------------- dedup output
def write_dedup(corpus_factory, keep: np.ndarray, path, plan=None) -> int:
    """Write the kept documents as JSONL {id, text}, in corpus order, atomically; returns the count.

    Parameters
    ----------
    corpus_factory : ``corpus_factory()`` must give the run's corpus again (a fresh
        reader, the paths, or the same batches: :func:`engine.job.as_batches`).
    keep : per document of the run, whether to write it.
    path : a ``.jsonl`` file.
    plan : the command's :class:`engine.output.OutputPlan` holding ``path`` as
        ``--dedup-output``: written to its temp, renamed when the plan commits (so
        the run's other outputs are not in place before this one is complete).
        Without it, ``path`` is checked here, against the corpus's files too.
    """
    from engine.output import own_plan, run_inputs
    path = Path(path)
    batches, reader = as_batches(corpus_factory())
    n = 0
    base = 0  # documents in corpus order (a reader's batches number them the same way)
    with (own_plan(plan, "--dedup-output", path, (".jsonl",), run_inputs(reader)) as p,
          open(p.temp("--dedup-output"), "w", encoding="utf-8") as f):
        for batch in batches:
            for i in np.flatnonzero(keep[base:base + batch.n_docs]):
                f.write(json.dumps({"id": batch.doc_ids[i], "text": batch.text(int(i))},
                                   ensure_ascii=False) + "\n")
                n += 1
            base += batch.n_docs
    return n
