"""Benchmark harness, corpus generator and per-job benchmarks of corpus-engine (see bench/README.md)."""
