"""Generators for files committed under deploy/ (run through make; tests fail when their output is stale)."""
