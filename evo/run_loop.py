"""Moved to ``evo.run.loop`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import loop as _moved

sys.modules[__name__] = _moved
