"""Shared harness of the reliability battery (tests/reliability): small modules, no tests."""
