"""Worked examples of extending evo (see docs/extending.md)."""
