"""Benchmarks of issue 6: `make bench` / `python -m bench.run [--only NAME] [--quick]`."""
