"""`evo optimize` and `evo compare` with Claude as task model and optimizer, through a local server that
speaks the Messages API (the real SDK, no internet): the full meta-prompt only a Claude optimizer gets,
Claude-style tagged replies, and the calls, usage and USD the run reports against what the server saw."""
import json
import re

import pytest

from evo.cli.main import main
from evo.llm.pricing import cost_usd
from tests.fake_servers import ScriptedHTTPServer

GOOD = "Add the two numbers and reply with the number only."


def text_of(content) -> str:
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def claude(body: dict) -> str:
    system = text_of(body.get("system") or "")
    user = text_of(body["messages"][-1]["content"])
    if system.startswith("You are an expert prompt engineer") or "<prompt>" in user:
        return ("<analysis>The answers carry words around the number; the check wants the bare number.</analysis>\n"
                "<change>Ask for the number only.</change>\n<target>format_violation</target>\n"
                f"<prompt>\n{GOOD}\n</prompt>")
    a, b = (int(x) for x in re.findall(r"(\d+) \+ (\d+)", user)[-1])
    return str(a + b) if "number only" in (system + user) else f"The sum is {a + b}."


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    with ScriptedHTTPServer("anthropic", responder=claude) as s:
        yield s


def models(url: str) -> str:
    return (f"task_model: {{kind: anthropic, model: claude-haiku-4-5, base_url: '{url}'}}\n"
            f"optimizer: {{kind: anthropic, model: claude-opus-4-5, base_url: '{url}'}}\n")


def seen(server) -> dict:
    """Requests the server answered, by model."""
    out: dict = {}
    for body in server.requests:
        out[body["model"]] = out.get(body["model"], 0) + 1
    return out


def test_optimize_with_claude(server, add_suite, tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(models(server.url) + "strategy: {kind: iterative, n_candidates: 2, max_train_iterations: 2}\n"
                   "budget: {max_calls: 80}\ncache: false\n")
    code = main(["optimize", str(add_suite), "--config", str(cfg), "--run-dir", str(tmp_path / "run")])
    assert code == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    resolved = json.loads((tmp_path / "run" / "config.json").read_text())["resolved"]
    assert resolved["optimizer"]["kind"] == "anthropic" and resolved["strategy"]["template"] == "iterative_v1"
    meta = [b for b in server.requests if b["model"] == "claude-opus-4-5"]
    assert meta and "# Optimization memory" in text_of(meta[0]["messages"][-1]["content"])  # the full meta-prompt
    assert result["best_genome"]["instruction"] == GOOD and result["after"]["test"]["pass_rate"] == 1.0
    usage = result["budget"]["usage"]
    assert usage["optimizer"]["calls"] == len(meta)
    # every search call is charged; the final scoring (seed and winner on the 10 examples, the 2 finalists on
    # the 2 val examples) is on top, minus what the run already had scored (memoized)
    charged = usage["task"]["calls"] + usage["monitor"]["calls"]  # the search's and val monitoring's task calls
    assert charged < seen(server)["claude-haiku-4-5"] <= charged + 2 * 10 + 2 * 2
    assert usage["task"]["input_tokens"] == 10 * usage["task"]["calls"]  # the server reports 10 in, 2 out a call
    expected_usd = cost_usd("claude-haiku-4-5", 10 * charged, 2 * charged) + \
        cost_usd("claude-opus-4-5", 10 * len(meta), 2 * len(meta))
    assert sum(u["usd"] for u in usage.values()) == pytest.approx(expected_usd)


def test_compare_with_claude(server, add_suite, tmp_path, capsys):
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"name: claude\nsuites: ['{add_suite}']\n" + models(server.url) +
                   "strategies: {it: {kind: iterative, n_candidates: 2}, ev: {kind: evolutionary, population_size: 4, "
                   "keep: 2, generations: 2}}\nbudget: {max_calls: 60}\ncache: false\ntracking: {kind: none}\n"
                   f"output_dir: '{tmp_path}/results'\nbootstrap_resamples: 100\n")
    code = main(["compare", str(cfg), "--json", "--yes"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    rows = {r["strategy"]: r for r in report["rows"]}
    assert rows["it"]["test_score"] == 1.0 and rows["baseline"]["test_score"] == 0.0
    assert all(r["task_calls"] <= 60 for r in rows.values())
    assert server.count_requests  # the estimate counted the task prompts' tokens with the API
    resolved = json.loads(json.dumps(__import__("yaml").safe_load((tmp_path / "results" / "claude" /
                                                                   "resolved_config.yaml").read_text())))
    assert resolved["strategies"]["it"]["template"] == "iterative_v1"
    assert resolved["strategies"]["ev"].get("compact_prompts") is False
