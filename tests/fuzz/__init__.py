"""Fuzz tests of every parser, validator, adapter and verifier, and of the hub (tests/fuzz/conftest.py)."""
