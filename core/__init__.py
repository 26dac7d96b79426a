"""Shared domain types, settings and errors: what every other package speaks."""
