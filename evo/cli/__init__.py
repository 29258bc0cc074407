# PYTHON_ARGCOMPLETE_OK
"""The ``evo`` command line."""
from evo.cli.main import main

__all__ = ["main"]
