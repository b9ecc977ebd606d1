"""kernels.jit_cache: numba cache entries of kernels/ are stamped by the whole package tree."""
import numba
import numpy as np

from kernels import jit_cache


def test_tree_stamp_changes_with_any_file_of_the_tree(tmp_path):
    (tmp_path / "core.py").write_text("def f(): return 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kernel.py").write_text("def g(): return 2\n")
    before = jit_cache.tree_stamp(tmp_path)
    jit_cache.tree_stamp.cache_clear()
    assert jit_cache.tree_stamp(tmp_path) == before          # deterministic
    (tmp_path / "core.py").write_text("def f(): return 3\n")  # only the callee's file changes
    jit_cache.tree_stamp.cache_clear()
    assert jit_cache.tree_stamp(tmp_path) != before
    jit_cache.tree_stamp.cache_clear()


def test_kernels_use_the_tree_stamp_and_other_code_numbas_own():
    from kernels.cpu import text  # any cached kernel module of the package
    kernel = text.doc_flaws
    locator = kernel._cache._impl._locator
    assert getattr(type(locator), "corpus_engine", False)
    assert locator.get_source_stamp() == jit_cache.tree_stamp()

    @numba.njit(cache=True)
    def outside(x):   # this test file is not under kernels/: numba's per-file stamp
        return x + 1

    assert outside(np.int64(1)) == 2
    assert not getattr(type(outside._cache._impl._locator), "corpus_engine", False)


def test_install_is_idempotent():
    from numba.core import caching
    n = len(caching.CacheImpl._locator_classes)
    jit_cache.install()
    assert len(caching.CacheImpl._locator_classes) == n


def _save_many(cache_path: str, who: int, n: int) -> None:
    """A process saving ``n`` entries of its own into one index (as a compiling process does)."""
    from numba.core.caching import IndexDataCacheFile

    import kernels  # noqa: F401  (installs the locked save)
    f = IndexDataCacheFile(cache_path, "kernel-1.py311", b"stamp")
    for i in range(n):
        f.save((who, i), f"machine code of {who}/{i}".encode())


def test_concurrent_saves_keep_every_entry_with_its_own_data(tmp_path):
    # numba's save reads, extends and rewrites the index unlocked: without the lock two writers
    # take the same data file and the index maps one's key to the other's data
    import multiprocessing as mp

    from numba.core.caching import IndexDataCacheFile
    ctx = mp.get_context("spawn")
    n = 40
    procs = [ctx.Process(target=_save_many, args=(str(tmp_path), who, n)) for who in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    f = IndexDataCacheFile(str(tmp_path), "kernel-1.py311", b"stamp")
    index = f._load_index()
    assert sorted(index) == sorted((who, i) for who in range(3) for i in range(n))
    for (who, i) in index:
        assert f.load((who, i)) == f"machine code of {who}/{i}".encode()
    assert len(set(index.values())) == len(index)       # one data file per entry


def test_saves_take_the_lock_once_installed():
    from numba.core import caching
    assert getattr(caching.IndexDataCacheFile.save, "corpus_engine", False)
    jit_cache.lock_saves(caching)                     # idempotent: not wrapped twice
    assert caching.IndexDataCacheFile.save.__wrapped__.__name__ == "save"
    assert not getattr(caching.IndexDataCacheFile.save.__wrapped__, "corpus_engine", False)


_LOAD_THEN_COMPILE = """
import json, sys
import numpy as np
import numba
from kernels.hashing import xxh64
b = np.frombuffer(bytearray(b"corpus engine, cold and warm"), np.uint8)
h = int(xxh64(b, 0, b.size, 0))
refreshed = "numba.np.random.legacy" in sys.modules   # imported by numba's registry refresh

@numba.njit
def plus_one(a):             # compiled after the load: numba's full refresh, as always
    return a.sum() + 1

print(json.dumps({"hash": h, "hits": sum(xxh64.stats.cache_hits.values()), "refreshed": refreshed,
                  "compiled": int(plus_one(np.arange(4)))}))
"""


def test_a_cache_load_skips_the_registry_refresh_and_compiling_still_works(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import xxhash
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", _LOAD_THEN_COMPILE], env=dict(env, **extra),
                             capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    expected = xxhash.xxh64_intdigest(b"corpus engine, cold and warm")
    cold = run()      # compiles xxh64: numba refreshes its registries
    assert cold == {"hash": expected, "hits": 0, "refreshed": True, "compiled": 7}
    warm = run()      # loads it: no refresh, same code, and a later compilation still works
    assert warm == {"hash": expected, "hits": 1, "refreshed": False, "compiled": 7}
    full = run(CORPUS_ENGINE_FULL_REFRESH="1")   # numba's own load path
    assert full == {"hash": expected, "hits": 1, "refreshed": True, "compiled": 7}


def test_a_save_makes_a_removed_cache_folder_again(tmp_path):
    # the folder is checked once a process (TreeStamped.ensure_cache_path): a save after the
    # folder went (a user clearing the cache) still lands
    from numba.core.caching import IndexDataCacheFile
    folder = tmp_path / "removed"
    f = IndexDataCacheFile(str(folder), "kernel-1.py311", b"stamp")
    f.save(("sig",), b"code")
    assert f.load(("sig",)) == b"code"


def test_package_locators_check_their_folder_once():
    from kernels.cpu import text
    locator = text.doc_flaws._cache._impl._locator
    assert locator.get_cache_path() in jit_cache._CHECKED_FOLDERS


_LOCK_EVENTS = """
import json
import numba
import numpy as np
from llvmlite.binding import ffi

import kernels  # noqa: F401  (installs kernels.jit_cache)
from numba.core import event

seen = []

class Count(event.Listener):
    def on_start(self, ev):
        seen.append(ev.kind)

    def on_end(self, ev):
        pass

@numba.njit
def plus_one(a):
    return a + 1

with event.install_listener("numba:llvm_lock", Count()):
    out = plus_one(np.arange(3)).tolist()
print(json.dumps({"callbacks": len(ffi.lib._lock._cblist), "events": len(seen), "out": out}))
"""


def test_numbas_llvm_lock_events_are_dropped_and_compiling_still_works(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", _LOCK_EVENTS], env=dict(env, **extra),
                             capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    quiet = run()
    assert quiet == {"callbacks": 0, "events": 0, "out": [1, 2, 3]}
    kept = run(CORPUS_ENGINE_LLVM_LOCK_EVENTS="1")     # numba's own: an event a call into LLVM
    assert kept["callbacks"] == 1 and kept["events"] > 100 and kept["out"] == [1, 2, 3]


def test_quiet_llvm_lock_is_idempotent():
    from llvmlite.binding import ffi
    jit_cache.quiet_llvm_lock()
    jit_cache.quiet_llvm_lock()
    assert not any(jit_cache._is_numbas_lock_event(a) for a, _ in ffi.lib._lock._cblist)
