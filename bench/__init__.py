"""Benchmarks of hot paths. Each module `bench_*.py` exposes `run(console) -> list[Result]`.

Every result is a ratio against a baseline measured in the same run on the same machine, so the
numbers compare across machines: absolute timings alone would not.
"""
