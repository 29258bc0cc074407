"""Moved to ``evo.run.session`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import session as _moved

sys.modules[__name__] = _moved
