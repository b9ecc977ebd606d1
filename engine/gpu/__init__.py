"""GPU-side helpers of the backend: the strict array module of the simulator
(:mod:`engine.gpu.strict_xp`), array idioms valid on numpy and CuPy 13/14
(:mod:`engine.gpu.arrays`), connected components (:mod:`engine.gpu.graph`) and the cuDF
ingest (:mod:`engine.gpu.ingest`).  Nothing here imports cupy, cudf or numba.cuda at
module level.
"""
