"""A plugin that lives outside ``evo/``: one check, one backend and one policy kind, registered with
``register()`` (``EVO_PLUGINS=tests.plugins.demo_plugin``); the strategy comes from the worked example
``examples/random_search.py``. Used by ``tests/integration/test_open_registries.py``."""
from __future__ import annotations

from typing import Literal

from bandit.policies import POLICIES, Policy, PolicyConfigBase
from evo.llm.base import BackendBase, LLMRequest, LLMResponse
from evo.llm.config import BACKENDS, BackendConfigBase
from evo.registry import Entry
from evo.tasks.check_config import CHECKS, CheckConfigBase
from evo.tasks.checks import Check


class EndsWithConfig(CheckConfigBase):
    kind: Literal["ends_with"]
    suffix: str = "."


class EndsWithCheck(Check):
    kind = "ends_with"

    def __init__(self, suffix: str = ".", **kw):
        super().__init__(**kw)
        self.suffix = suffix

    def _run(self, output, expected, inputs):
        ok = output.rstrip().endswith(self.suffix)
        return (1.0, "", None) if ok else (0.0, f"does not end with {self.suffix!r}", "format_violation")


class AdderConfig(BackendConfigBase):
    kind: Literal["adder"]
    suffix: str = ""


class AdderBackend(BackendBase):
    """Adds the two numbers of the rendered input ``a + b``."""
    max_concurrency = None

    def __init__(self, suffix: str):
        self.suffix = suffix
        self.fingerprint = f"adder:{suffix}"

    def complete(self, request: LLMRequest) -> LLMResponse:
        last = next((c for r, c in reversed(request.messages) if r == "user"), "")
        a, _, b = last.rsplit("\n", 1)[-1].partition(" + ")
        try:
            text = str(int(a) + int(b)) + self.suffix
        except ValueError:
            text = "?"
        return LLMResponse(text=text, input_tokens=len(last) // 4 + 1, output_tokens=1, latency_s=0.0)


class FirstArmConfig(PolicyConfigBase):
    kind: Literal["first_arm"] = "first_arm"


class FirstArm(Policy):
    name = "first_arm"

    def select(self, rng, allowed=None):
        return int(self._check(allowed)[0])


def register() -> None:
    from examples.random_search import register as register_random_search

    register_random_search()
    if "ends_with" not in CHECKS:
        CHECKS.register("ends_with", Entry(EndsWithConfig, lambda cfg, base_dir: EndsWithCheck(
            **cfg.model_dump(exclude={"kind"}))))
    if "adder" not in BACKENDS:
        BACKENDS.register("adder", Entry(AdderConfig, lambda cfg: AdderBackend(cfg.suffix)))
    if "first_arm" not in POLICIES:
        POLICIES.register("first_arm", Entry(FirstArmConfig, FirstArm))
