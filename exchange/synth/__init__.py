"""Realistic synthetic data for testing imports and for the benchmarks: seeded, deterministic,
valid, and made of invented people (``ctf``: Common Transfer Files of any size, streamed;
``ehcp``: EHC plans; ``passport``: adjustment passports).
"""
