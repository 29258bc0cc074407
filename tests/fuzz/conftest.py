"""Hypothesis profiles of the fuzzers: ``ci`` (the default, bounded: part of ``make test``) and ``fuzz``
(``make fuzz``: many more examples per run; ``tests/fuzz/run.py`` repeats runs with fresh seeds for a
time budget and reports how many examples each fuzzer tried)."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                     HealthCheck.function_scoped_fixture,
                                                     HealthCheck.filter_too_much], database=None)
settings.register_profile("ci", max_examples=int(os.environ.get("EVO_FUZZ_EXAMPLES", "60")), derandomize=True,
                          print_blob=True, **_COMMON)
settings.register_profile("fuzz", max_examples=int(os.environ.get("EVO_FUZZ_EXAMPLES", "400")), print_blob=True,
                          **_COMMON)
settings.load_profile(os.environ.get("EVO_FUZZ_PROFILE", "ci"))
