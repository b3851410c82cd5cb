"""Stipends bench (docstring to come)."""
