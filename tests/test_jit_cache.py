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
