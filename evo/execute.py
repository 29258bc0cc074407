"""Moved to ``evo.run.execute`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import execute as _moved

sys.modules[__name__] = _moved
