"""Benchmarks (issue 7). Each script is one command that prints its figures; see docs/performance.md."""
