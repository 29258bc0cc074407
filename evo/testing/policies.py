"""Moved to ``bandit.testing.policies`` (evo does not import bandit); this alias stays for one release."""
import sys

from bandit.testing import policies as _moved

sys.modules[__name__] = _moved
