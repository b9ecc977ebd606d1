"""GPU-side helpers of the backend: the strict array module of the simulator
(:mod:`engine.gpu.strict_xp`), array idioms valid on numpy and CuPy 13/14
(:mod:`engine.gpu.arrays`), connected components (:mod:`engine.gpu.graph`), the cuDF
ingest (:mod:`engine.gpu.ingest`, with its cheap JSONL check :mod:`engine.gpu.jsonl_check`)
and the pinned, overlapped copies of host batches (:mod:`engine.gpu.transfer`).  Nothing here imports cupy, cudf or numba.cuda at
module level.
"""
