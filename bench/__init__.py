"""Benchmarks. Each module exposes `main()` and prints figures next to a raw baseline measured in
the same run; `python -m bench` runs them all. Figures live in bench/README.md, not in tests."""
