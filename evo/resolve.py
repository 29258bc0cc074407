"""Moved to ``evo.run.resolve`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import resolve as _moved

sys.modules[__name__] = _moved
