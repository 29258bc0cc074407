"""Moved to ``evo.run.run_dir`` (one folder for a run); this alias stays for one release."""
import sys

from evo.run import run_dir as _moved

sys.modules[__name__] = _moved
