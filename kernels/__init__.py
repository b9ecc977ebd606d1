"""Compute kernels of corpus-engine: arrays in, arrays out.

``kernels.hashing`` and ``kernels.text_core`` hold scalar code shared by the CPU
(``kernels.cpu``, numba njit) and GPU (``kernels.cuda``, numba.cuda) twins.
"""

from kernels.jit_cache import install as _install_jit_cache

_install_jit_cache()   # before any kernel module is decorated (see kernels.jit_cache)
