"""Benchmark harness (`make bench`); not part of `make test`."""
