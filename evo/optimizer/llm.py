"""``OptimizerLLM``: the model that writes prompts (Claude Opus or the local model), metered.

Contract:
- ``generate(system, user, n, temperature)`` returns ``n`` raw completions (``Proposal``), each from
  a distinct ``sample_index`` so samples differ at temperature > 0 yet replay from the cache.
  Backend failures become proposals with ``error`` set; nothing raises.
- Every call is checked against the budget before it is made (a call the budget cannot pay for is not
  made: its proposal carries the error) and charged to the ``optimizer`` role; failures are counted.
- ``extract_tagged(text, tag)`` pulls the content of ``<tag>...</tag>``; a missing closing tag with
  ``stop_reason == "length"`` is reported as truncated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evo.errors import BackendError
from evo.llm.base import LLMRequest


_QUOTED = re.compile(r"[\"“]([^\"”\n]{10,400})[\"”]")
_LABEL = re.compile(r"^\s*(?:new |improved |better )?(?:instruction|prompt)\s*:\s*", re.IGNORECASE)


def _instruction_line(text: str) -> str | None:
    """The reply's first non-empty line as an instruction (a leading "New instruction:" label and
    quotes removed) when it has 3 to 60 words; else None."""
    for line in text.splitlines():
        line = _LABEL.sub("", line.strip()).strip().strip('"“”').strip()
        if line:
            return line if 3 <= len(line.split()) <= 60 else None
    return None


@dataclass(frozen=True)
class Proposal:
    text: str
    stop_reason: str = "stop"
    error: str | None = None


def extract_tagged(text: str, tag: str, stop_reason: str = "stop") -> tuple[str | None, str | None]:
    """(content, problem): content inside ``<tag>`` … ``</tag>``, or None with the reason."""
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.DOTALL | re.IGNORECASE)
    if match:
        content = match.group(1).strip()
        return (content, None) if content else (None, "empty")
    if re.search(rf"<{tag}>", text, re.IGNORECASE):
        return None, "truncated" if stop_reason in ("length", "max_tokens") else "unclosed tag"
    return None, f"no <{tag}> tag"


def extract_instruction(text: str, stop_reason: str, lenient: bool) -> tuple[str | None, str]:
    """(instruction, how) from an optimizer reply; ``how`` is ``tag``/``quoted`` or the rejection reason."""
    prompt, problem = extract_tagged(text, "prompt", stop_reason)
    if prompt is not None:
        return prompt, "tag"
    if lenient and problem and problem.startswith("no <"):
        quoted = _QUOTED.findall(text)
        if quoted:
            return quoted[-1].strip(), "quoted"
        line = _instruction_line(text)
        if line:
            return line, "line"
    return None, problem or "unusable"


class OptimizerLLM:
    def __init__(self, backend, budget, *, seed: int = 0, max_tokens: int = 400, model: str = ""):
        self.backend = backend
        self.budget = budget
        self.seed = seed
        self.max_tokens = max_tokens
        self.model = model

    def generate(self, system: str, user: str, n: int = 1, temperature: float = 0.7,
                 max_tokens: int | None = None, sample_offset: int = 0) -> list[Proposal]:
        """``n`` completions with sample indices ``sample_offset .. sample_offset + n - 1``."""
        out = []
        for i in range(sample_offset, sample_offset + n):
            if not self.budget.affords(optimizer_calls=1):
                out.append(Proposal("", "error", "optimizer call not made: the call budget is used up"))
                continue
            request = LLMRequest(messages=(("user", user),), system=system, model=self.model,
                                 temperature=temperature, max_tokens=max_tokens or self.max_tokens,
                                 seed=self.seed, sample_index=i)
            try:
                resp = self.backend.complete(request)
            except BackendError as exc:
                self.budget.charge("optimizer", errors=1)
                out.append(Proposal("", "error", str(exc)))
                continue
            except Exception as exc:
                self.budget.charge("optimizer", errors=1)
                out.append(Proposal("", "error", f"{type(exc).__name__}: {exc}"))
                continue
            self.budget.charge("optimizer", cached=int(resp.cached), input_tokens=resp.input_tokens,
                               output_tokens=resp.output_tokens, usd=resp.cost_usd)
            out.append(Proposal(resp.text, resp.stop_reason))
        return out
