"""Helpers shared across the package: parameter validation, optional dependencies."""
