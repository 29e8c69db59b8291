"""Benchmarks for the billing service: `make bench` or `python -m benchmarks.run`.

They print numbers and ratios against a baseline measured in the same run; they
assert nothing about timing and live outside pytest's `tests` path on purpose.
"""
