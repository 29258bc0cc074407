"""Moved to ``bandit.testing.postgres`` (evo does not import bandit); this alias stays for one release."""
import sys

from bandit.testing import postgres as _moved

sys.modules[__name__] = _moved
