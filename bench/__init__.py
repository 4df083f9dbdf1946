"""Benchmarks of the design on the local cloud: ``python -m bench`` (``make bench``).

Each suite is a module with ``run(cloud, quick) -> dict``; ``bench/__main__.py`` starts one
local cloud for the whole run, runs the suites on it, and writes ``<suite>.json`` (the
figures, the command and the machine) and ``<suite>.png`` to ``bench/results``.
docs/performance.md explains the figures.
"""
