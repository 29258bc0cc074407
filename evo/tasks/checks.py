"""Checks: one eval applied to one model output.

Contract: ``check(output, expected, inputs) -> CheckResult`` never raises. The score is in [0, 1];
a failed check carries a failure category (one of ``CATEGORIES``) and a short message. A check that
cannot run (a user assertion that raises, a malformed pattern at run time) is a failed check with
category ``error`` and the exception text as its message.
"""
from __future__ import annotations

import json
import math
import re
import string
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Mapping

CATEGORIES = (
    "empty_output",
    "refusal",
    "verbosity",
    "format_violation",
    "wrong_answer",
    "copied_demo",
    "error",
)

_REFUSAL = re.compile(
    r"\b(i can(?:no|')t|i am (?:not able|unable)|i'm (?:not able|unable)|as an ai\b|i (?:won't|will not))",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_PUNCT = string.punctuation
# the Unicode minus and dashes a model may print for a negative sign
_DASHES = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\ufe63": "-",
                         "\uff0d": "-"})
_NUMBER_START = re.compile(r"[-+]?\.?\d")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


class UserCheckError(Exception):
    """A user check failed in its own code; the message already says how (``ZeroDivisionError: ...``)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    score: float
    passed: bool
    message: str = ""
    category: str | None = None
    weight: float = 1.0
    usage: Mapping[str, Any] | None = None  # model calls the check made (llm_judge): JudgeMeter.to_json()

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name, "score": self.score, "passed": self.passed,
            "message": self.message, "category": self.category, "weight": self.weight,
        }
        if self.usage is not None:
            out["usage"] = dict(self.usage)
        return out


def canonical_chars(text: str) -> str:
    """NFKC form with the Unicode minus and dashes as ``-`` (so "−3" reads as "-3")."""
    return unicodedata.normalize("NFKC", str(text)).translate(_DASHES)


def _strip_token(token: str) -> str:
    """Drop a token's surrounding punctuation, but keep a sign or decimal point that starts a number."""
    token = token.rstrip(_PUNCT)
    i = 0
    while i < len(token) and token[i] in _PUNCT and not _NUMBER_START.match(token, i):
        i += 1
    return token[i:]


def normalize_text(text: str) -> str:
    """Lower-case, drop the punctuation around each word, collapse whitespace, drop thousands separators.

    What changes meaning is kept: signs ("-9" stays "-9"), decimal points ("3.5"), inner punctuation
    and the order of digits; "−9" (Unicode minus) reads as "-9"."""
    text = _THOUSANDS.sub("", canonical_chars(text).lower())
    return " ".join(t for t in (_strip_token(tok) for tok in text.split()) if t)


def parse_number(text: str, pick: str = "first") -> float | None:
    """The first (or last) number in ``text`` (commas as thousands separators allowed; the Unicode
    minus is a minus), or None."""
    matches = _NUMBER.findall(canonical_chars(text))
    if not matches:
        return None
    try:
        return float((matches[0] if pick == "first" else matches[-1]).replace(",", ""))
    except ValueError:  # pragma: no cover - regex guarantees a float literal
        return None


def classify_failure(output: str, expected: Any, default: str) -> str:
    """The most specific category that explains why ``output`` failed against ``expected``."""
    stripped = output.strip()
    if not stripped:
        return "empty_output"
    if _REFUSAL.search(stripped):
        return "refusal"
    if expected is not None and default == "wrong_answer":
        exp = normalize_text(str(expected))
        out = normalize_text(stripped)
        if exp and exp != out and re.search(r"(?:^|\s)" + re.escape(exp) + r"(?:\s|$)", out):
            return "verbosity"
    return default


class Check:
    """Base class. Subclasses implement ``_run`` returning ``(score, message, category)``."""

    kind = "check"

    def __init__(self, name: str | None = None, weight: float = 1.0):
        self.name = name or self.kind
        self.weight = float(weight)

    def _run(self, output: str, expected: Any, inputs: Mapping[str, Any]) -> tuple[float, str, str | None]:
        raise NotImplementedError

    def __call__(self, output: str, expected: Any, inputs: Mapping[str, Any]) -> CheckResult:
        return self._checked(lambda: self._run(output, expected, inputs), output, expected)

    def _checked(self, run: Callable[[], tuple], output: str, expected: Any) -> CheckResult:
        """The ``CheckResult`` of ``run()`` (``(score, message, category)``): an exception or a score
        outside [0, 1] fails with category ``error``; a passing score clears the category."""
        try:
            score, message, category = run()
            score = float(score)
            if not math.isfinite(score) or not 0.0 <= score <= 1.0:
                raise ValueError(f"score {score!r} is outside [0, 1]")
        except Exception as exc:  # a check never raises: it fails with category "error"
            text = str(exc) if isinstance(exc, UserCheckError) else f"{type(exc).__name__}: {exc}"
            return CheckResult(self.name, 0.0, False, " ".join(text.split())[:2000], "error", self.weight)
        passed = score >= 1.0 - 1e-9
        if passed:
            category = None
        elif category is None:
            category = classify_failure(output, expected, "wrong_answer")
        return CheckResult(self.name, score, passed, message, category, self.weight)


def _fail(default: str, output: str, expected: Any, message: str) -> tuple[float, str, str]:
    return 0.0, message, classify_failure(output, expected, default)


class ExactCheck(Check):
    kind = "exact"

    def _run(self, output, expected, inputs):
        if output.strip() == str(expected).strip():
            return 1.0, "", None
        return _fail("wrong_answer", output, expected, f"expected exactly {str(expected)!r}")


class NormalizedCheck(Check):
    """Equal after lower-casing, removing punctuation and collapsing whitespace."""

    kind = "normalized"

    def _run(self, output, expected, inputs):
        if normalize_text(output) == normalize_text(str(expected)):
            return 1.0, "", None
        return _fail("wrong_answer", output, expected, f"expected {str(expected)!r} (normalized)")


def contains_value(hay: str, needle: str) -> bool:
    """``needle`` occurs in ``hay``; a needle that starts or ends with a digit must not be part of a
    longer number there ("1" is not in "10", "3" is not in "-3" or "3.5")."""
    if not needle:
        return True
    start = 0
    while (i := hay.find(needle, start)) >= 0:
        start = i + 1
        before, after = hay[:i], hay[i + len(needle):]
        if needle[0].isdigit() and (re.search(r"[\d.]$", before) or re.search(r"(?:^|\s)[-+]$", before)):
            continue
        if needle[-1].isdigit() and re.match(r"\d|[.,]\d", after):
            continue
        return True
    return False


class ContainsCheck(Check):
    """The output contains ``value`` (or the expected output when ``value`` is not set); a value that
    starts or ends with a digit must not be part of a longer number (``contains_value``)."""

    kind = "contains"

    def __init__(self, value: str | None = None, case_sensitive: bool = False, **kw):
        super().__init__(**kw)
        self.value = value
        self.case_sensitive = case_sensitive

    def _run(self, output, expected, inputs):
        needle = canonical_chars(self.value if self.value is not None else expected)
        hay = canonical_chars(output)
        if not self.case_sensitive:
            needle, hay = needle.lower(), hay.lower()
        if contains_value(hay, needle):
            return 1.0, "", None
        return 0.0, f"output does not contain {needle!r}", None


class RegexCheck(Check):
    """The whole stripped output (``fullmatch``) or some part of it (``search``) matches ``pattern``.

    Matching runs in the ``regex`` module with a hard ``timeout_s`` (default 1 s) and without holding the
    GIL: a catastrophic pattern such as ``^(a+)+$`` on a long output is a failed check with category
    ``error``, not a hang."""

    kind = "regex"

    def __init__(self, pattern: str, mode: str = "search", timeout_s: float = 1.0, **kw):
        import regex

        super().__init__(**kw)
        self.pattern = regex.compile(pattern)
        self.mode = mode
        self.timeout_s = timeout_s

    def _run(self, output, expected, inputs):
        text = output.strip()
        match = self.pattern.fullmatch if self.mode == "fullmatch" else self.pattern.search
        try:
            ok = match(text, timeout=self.timeout_s, concurrent=True)
        except TimeoutError:
            raise UserCheckError(f"the pattern did not finish matching within {self.timeout_s:g} s") from None
        if ok:
            return 1.0, "", None
        return _fail("format_violation", output, expected, f"output does not match /{self.pattern.pattern}/")


class NumericCheck(Check):
    """The last (``pick="last"``, default: the usual place of a final answer, as in "7 + 9 = 16") or
    first number in the output equals the expected number within ``tolerance`` (absolute) or
    ``rel_tolerance`` (relative). With ``strict`` the output must be the number alone."""

    kind = "numeric"

    def __init__(self, tolerance: float = 0.0, rel_tolerance: float = 0.0, strict: bool = False,
                 pick: str = "last", **kw):
        super().__init__(**kw)
        self.tolerance = tolerance
        self.rel_tolerance = rel_tolerance
        self.strict = strict
        self.pick = pick

    def _run(self, output, expected, inputs):
        want = expected if isinstance(expected, (int, float)) else parse_number(str(expected))
        if want is None:
            raise ValueError(f"expected value {expected!r} is not a number")
        text = canonical_chars(output).strip()
        got = parse_number(text, self.pick)
        if got is None:
            return _fail("format_violation", output, expected, "no number in output")
        if self.strict and _NUMBER.fullmatch(text) is None:
            return _fail("verbosity", output, expected, f"output is not just a number (found {got:g})")
        if abs(got - want) <= max(self.tolerance, self.rel_tolerance * abs(want)):
            return 1.0, "", None
        return 0.0, f"got {got:g}, expected {float(want):g}", "wrong_answer"


class ChoiceCheck(Check):
    """The output names exactly one of ``choices`` and it is the expected one (normalized)."""

    kind = "choice"

    def __init__(self, choices: list[str] | None = None, **kw):
        super().__init__(**kw)
        self.choices = list(choices or [])

    def _run(self, output, expected, inputs):
        choices = self.choices or list(inputs.get("choices", []) or [])
        out = normalize_text(output)
        exp = normalize_text(str(expected))
        if out == exp:
            return 1.0, "", None
        named = [c for c in choices if re.search(r"(?:^|\s)" + re.escape(normalize_text(c)) + r"(?:\s|$)", out)]
        if not named:
            return _fail("format_violation", output, expected, f"output names none of {choices}")
        if len(named) == 1 and normalize_text(named[0]) == exp:
            return 1.0, "", None
        if len(named) > 1:
            return 0.0, f"output names several choices: {named}", "format_violation"
        return 0.0, f"chose {named[0]!r}, expected {expected!r}", "wrong_answer"


def parse_json_output(output: str) -> tuple[Any, tuple[float, str, str] | None]:
    """(value, None) for an output that is JSON (a ```json fence around it allowed), else (None, the
    failed check's (score, message, category))."""
    text = output.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fence:
        text = fence.group(1)
    try:
        return json.loads(text), None
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        return None, (0.0, f"invalid JSON: {exc.msg if hasattr(exc, 'msg') else exc}",
                      "empty_output" if not text else "format_violation")


class JsonCheck(Check):
    """The output parses as JSON; with ``fields`` those keys must equal the expected object's;
    with ``subset`` every key of the expected object must match."""

    kind = "json"

    def __init__(self, fields: list[str] | None = None, subset: bool = False, **kw):
        super().__init__(**kw)
        self.fields = fields
        self.subset = subset

    def _run(self, output, expected, inputs):
        got, failure = parse_json_output(output)
        if failure is not None:
            return failure
        if not self.fields and not self.subset:
            return 1.0, "", None
        want = json.loads(expected) if isinstance(expected, str) else expected
        if not isinstance(want, dict) or not isinstance(got, dict):
            ok = got == want
            return (1.0, "", None) if ok else (0.0, "JSON value differs", "wrong_answer")
        keys = self.fields if self.fields else list(want)
        wrong = [k for k in keys if got.get(k) != want.get(k)]
        if not wrong:
            return 1.0, "", None
        return (len(keys) - len(wrong)) / len(keys), f"fields differ: {wrong}", "wrong_answer"


def call_with_timeout(fn: Callable[[], Any], timeout_s: float) -> Any:
    """``fn()`` on a daemon thread; ``TimeoutError`` if it has not returned within ``timeout_s`` (the
    thread is abandoned: a check that never returns cannot hang the run). ``SystemExit`` inside it
    becomes a ``RuntimeError``: a check cannot end the process."""
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = fn()
        except SystemExit as exc:
            box["error"] = RuntimeError(f"the check called sys.exit({exc.code!r})")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="evo-check")
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"the check did not return within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class AssertionCheck(Check):
    """A user Python callable ``fn(inputs, output, expected)`` returning bool, a float in [0, 1] or
    ``(score, message)``. An exception inside it, a score outside [0, 1], ``sys.exit`` or not returning
    within ``timeout_s`` (default 5 s) make it a failed check with category ``error``."""

    kind = "python"

    def __init__(self, fn: Callable[..., Any], timeout_s: float = 5.0, **kw):
        kw["name"] = kw.get("name") or getattr(fn, "__name__", "python")
        super().__init__(**kw)
        self.fn = fn
        self.timeout_s = timeout_s

    def _run(self, output, expected, inputs):
        args = (dict(inputs), output, expected)
        if getattr(self.fn, "enforces_timeout", False):  # a SandboxedFunction: killable, own timeout
            return *self.fn(*args), None
        result = call_with_timeout(lambda: self.fn(*args), self.timeout_s)
        message = ""
        if isinstance(result, tuple):
            if len(result) != 2:
                raise TypeError("assertion must return bool, float or (score, message)")
            result, message = result
        if isinstance(result, bool):
            score = 1.0 if result else 0.0
        elif isinstance(result, (int, float)):
            score = float(result)
        else:
            raise TypeError(f"assertion returned {type(result).__name__}; expected bool, float or (score, message)")
        return score, str(message or ("" if score >= 1 else "assertion failed")), None
