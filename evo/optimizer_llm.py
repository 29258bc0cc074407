"""Moved to ``evo.optimizer.llm``; this alias stays for one release."""
import sys

from evo.optimizer import llm as _moved

sys.modules[__name__] = _moved
