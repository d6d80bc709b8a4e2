"""Benchmarks: ``python -m bench.run`` (search latency and throughput over real HTTP).

Speed and memory are measured here, never by timed unit tests.
"""
