"""Reproducible benchmarks of the template (see bench/README.md)."""
