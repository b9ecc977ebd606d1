"""CPU kernels (numba njit, parallel over documents)."""
