"""Connected components of the MinHash pair graph, with an explicit choice of library.

On a real GPU with ``pylibcugraph`` installed (the ``gpu`` extra brings it), cupyx's
``csgraph.connected_components`` runs on the device (cupyx needs pylibcugraph for it);
otherwise scipy's runs on the host.  The choice is made by looking for the package, not
by catching whatever a failed attempt raises, and the caller reports the name.
"""
from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["components_library", "connected_components"]


def components_library(backend) -> str:
    """``"cugraph"`` (cupyx + pylibcugraph, on the device) or ``"scipy"`` (on the host)."""
    def on_device() -> str:
        if backend.simulated:
            return "scipy"    # the simulator has no device libraries
        return "cugraph" if importlib.util.find_spec("pylibcugraph") is not None else "scipy"
    return backend.pick(cpu=lambda: "scipy", gpu=on_device)()


def connected_components(n: int, a: np.ndarray, b: np.ndarray, backend) -> tuple[np.ndarray, str]:
    """(component label of each of the ``n`` nodes, host array; the library's name) of the
    undirected graph with edges ``(a[i], b[i])`` (host int64 arrays)."""
    lib = components_library(backend)
    if lib == "cugraph" and len(a):
        import cupy
        import cupyx.scipy.sparse as csp
        from cupyx.scipy.sparse.csgraph import connected_components as gcc
        ones = backend.xp.ones(len(a), np.float32)
        m = csp.coo_matrix((ones, (backend.to_device(a), backend.to_device(b))), shape=(n, n)).tocsr()
        return backend.to_host(cupy.asarray(gcc(m, directed=False, return_labels=True)[1])), lib
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as hcc
    m = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n)).tocsr()
    return hcc(m, directed=False, return_labels=True)[1], "scipy"
