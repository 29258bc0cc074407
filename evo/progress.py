"""Moved to ``evo.cli.progress`` (terminal output lives in the CLI); this alias stays for one release."""
import sys

from evo.cli import progress as _moved

sys.modules[__name__] = _moved
