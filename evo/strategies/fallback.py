"""Moved to ``evo.optimizer.fallback``; this alias stays for one release."""
import sys

from evo.optimizer import fallback as _moved

sys.modules[__name__] = _moved
