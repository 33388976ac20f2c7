"""Benchmarks: ``python -m bench [name …]`` prints figures, medians and ratios.

Benchmarks are never tests: they print what they measure and do not fail on time.
Each benchmark is a module here with a ``run(args) -> dict`` function, registered
in :data:`bench.__main__.BENCHMARKS`.
"""
