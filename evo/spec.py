"""Moved to ``evo.run.spec`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import spec as _moved

sys.modules[__name__] = _moved
