"""numba's on-disk cache, made safe across upgrades: an entry is valid only for the exact
``kernels/`` source tree that compiled it.

numba stamps a cached function with the hash of the one file that defines it.  But a kernel
compiles its callees into the same machine code, and ours call cores in other files
(``kernels/text_core.py``, ``kernels/hashing.py``...).  After an upgrade that changes only a
core, every kernel in an unchanged file would load the old core's code from the cache: a
silently wrong result.  (Before numba 0.68 the stamp was the file's mtime, which a reinstall
rewrites, so this stayed hidden.)  Here the stamp is the hash of every ``.py`` file of the
package instead: any change to the kernels recompiles them all, and a reinstall of the same
version keeps its cache.

All jitted code of corpus-engine lives under ``kernels/`` (``engine/`` has none), so the tree
hash covers every callee.  :func:`install` runs when ``kernels`` is imported, before any
module of it is decorated.  It also makes numba's cache saves safe against concurrent writers
(:func:`lock_saves`) and its CPU loads skip the registry refresh a load does not need
(:func:`lean_loads`: 0.12 s off a first load that needs nothing else, 0.03-0.09 s off a warm
command, whose cached environments import much of the same numba code anyway;
``CORPUS_ENGINE_FULL_REFRESH=1``: numba's own), and drops numba's events around every call
into LLVM (:func:`quiet_llvm_lock`).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def tree_stamp(root: Path = _PACKAGE) -> bytes:
    """sha256 over the relative path and bytes of every ``.py`` file under ``root``, in path
    order (about 1 ms for the package)."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.digest()


@functools.lru_cache(maxsize=None)
def _in_package(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


_CHECKED_FOLDERS: set[str] = set()   # cache folders found writable by this process


def _tree_stamped(base):
    """A locator class like ``base`` whose stamp is the package tree's, for our files only."""

    class TreeStamped(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            return super().from_function(py_func, py_file) if _in_package(py_file) else None

        def get_source_stamp(self):
            return tree_stamp()

        def ensure_cache_path(self):
            # numba checks the folder at every decoration (a makedirs and a temporary file
            # each: ~130 kernels at every start-up); once a folder a process is enough (a save
            # makes the folder again, _locked_save)
            path = self.get_cache_path()
            if path not in _CHECKED_FOLDERS:
                super().ensure_cache_path()
                _CHECKED_FOLDERS.add(path)

    TreeStamped.__name__ = TreeStamped.__qualname__ = f"TreeStamped{base.__name__}"
    return TreeStamped


_BASES = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")


def install(caching=None) -> None:
    """Put tree-stamped twins of a caching module's own locators (the ``NUMBA_CACHE_DIR`` one,
    the one beside the sources, then the per-user one for a read-only install) first in the
    list its cache implementations read.  ``caching``: numba's (the CPU, the default) or
    numba-cuda's own copy (``numba.cuda.core.caching``, which stamps by mtime).  Also makes
    its saves safe against concurrent writers (:func:`lock_saves`).  Idempotent."""
    if caching is None:
        from numba.core import caching
        lean_loads(caching)
        quiet_llvm_lock()
    lock_saves(caching)
    locators = caching.CacheImpl._locator_classes
    if any(getattr(c, "corpus_engine", False) for c in locators):
        return
    bases = [getattr(caching, name, None) or getattr(caching, "_" + name) for name in _BASES]
    ours = [_tree_stamped(base) for base in bases]
    for cls in ours:
        cls.corpus_engine = True
    locators[:0] = ours


# --- concurrent writers ------------------------------------------------------------------------
# numba's IndexDataCacheFile.save is a read-modify-write of the index with no lock: two
# processes compiling two signatures of one function into one cache (the warm-up workers of
# engine.warmup, two commands started together, Dask workers) both read the index without the
# other's entry, both take the first free data number, and the last writer wins: the index
# can map one signature to the other one's machine code, which numba loads without checking.
# An exclusive lock on a file beside the index makes each save whole; loads need none (every
# file is written to a temporary name and renamed into place).

def _locked_save(save):
    @functools.wraps(save)
    def locked(self, key, data):
        os.makedirs(self._cache_path, exist_ok=True)   # removed since it was checked?
        try:
            import fcntl
        except ImportError:            # no POSIX locks (Windows): numba's own behaviour
            return save(self, key, data)
        with open(self._index_path + ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return save(self, key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    return locked


def _patch_once(cls, name: str, wrap) -> None:
    """``cls.name = wrap(cls.name)``, unless this module already wrapped it (idempotent)."""
    original = getattr(cls, name)
    if not getattr(original, "corpus_engine", False):
        wrapped = wrap(original)
        wrapped.corpus_engine = True
        setattr(cls, name, wrapped)


def lock_saves(caching) -> None:
    """Make ``caching.IndexDataCacheFile.save`` hold an exclusive file lock (idempotent)."""
    _patch_once(caching.IndexDataCacheFile, "save", _locked_save)


# --- loading without numba's registries ---------------------------------------------------------
# numba's Cache.load_overload first refreshes the target context "to ensure it is initialized":
# on the first load of a process that imports every lowering module of numba (unicode, charseq,
# random, typed containers, linalg...) and installs their registries (0.15 s of CPU; less
# where the cached environments import the same modules anyway).  Rebuilding a cached
# function needs none of that: its machine code is whole (callees linked in), its environment
# is pickled with it, parfors' threads start from its own reload hooks; what it does need is
# the runtime (NRT), which the refresh initialises first.  So a load initialises the runtime only; anything that compiles still refreshes in
# full (numba's compiler refreshes both contexts before every compilation).

def _lean_load(load):
    @functools.wraps(load)
    def lean(self, sig, target_context):
        from numba.core.cpu import CPUContext
        if type(target_context) is not CPUContext or os.environ.get("CORPUS_ENGINE_FULL_REFRESH") == "1":
            return load(self, sig, target_context)
        from numba.core.runtime import rtsys
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    return lean


def lean_loads(caching) -> None:
    """Make ``caching.Cache.load_overload`` skip the registry refresh on the CPU (idempotent)."""
    _patch_once(caching.Cache, "load_overload", _lean_load)


# --- no events around every LLVM call ---------------------------------------------------------
# numba registers callbacks on llvmlite's lock that broadcast a "numba:llvm_lock" start and end
# event (two Event objects, their listeners walked) around every call into LLVM: ~3,500 calls
# for the 13 cached kernels of a warm ``corpus ngrams`` (0.02-0.03 s), hundreds of thousands
# when compiling.  Their only reader is the dispatcher's per-signature "llvm_lock" timer
# (``overloads[sig].metadata["timers"]``, diagnostics; it then reads 0).  The lock itself stays.

def _is_numbas_lock_event(callback) -> bool:
    return (getattr(callback, "__module__", None) == "numba.core.base"
            and "_initialize_llvm_lock_event" in getattr(callback, "__qualname__", ""))


def quiet_llvm_lock() -> None:
    """Remove numba's event callbacks from llvmlite's lock (idempotent;
    ``CORPUS_ENGINE_LLVM_LOCK_EVENTS=1``: keep them)."""
    if os.environ.get("CORPUS_ENGINE_LLVM_LOCK_EVENTS") == "1":
        return
    import numba.core.base  # noqa: F401  (registers the callbacks, at its import)
    from llvmlite.binding import ffi
    lock = getattr(getattr(ffi, "lib", None), "_lock", None)
    for acquire, release in list(getattr(lock, "_cblist", ())):
        if _is_numbas_lock_event(acquire) and _is_numbas_lock_event(release):
            ffi.unregister_lock_callback(acquire, release)
