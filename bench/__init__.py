"""Benchmarks and load tests: each is one package, run by one documented command that prints its figures."""
