"""Moved to ``evo.optimizer.meta_prompts``; this alias stays for one release."""
import sys

from evo.optimizer import meta_prompts as _moved

sys.modules[__name__] = _moved
