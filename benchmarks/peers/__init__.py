"""Helpers that run peer libraries in their own environments (never dependencies)."""
