"""The qcode benchmark suite (run by hand; not part of the pytest run). See docs/benchmarks.md."""
