"""`evo bandit simulate` scenarios: segment-dependent best arms, a guardrail that trades off against
the objective, and delayed or missing feedback."""
from __future__ import annotations

import json

import numpy as np

from bandit.policies import BetaTSConfig
from bandit.simulate import ArmSpec, simulate, simulate_guardrail
from tests.helpers import run_cli


def test_segments_scenario_favours_segment_routing(tmp_path):
    code, out, err = run_cli(["bandit", "simulate", "--scenario", "segments", "--horizon", "2000", "--seeds", "2",
                              "--policies", "beta_ts", "--no-mlflow", "--out", str(tmp_path), "--json"])
    assert code == 0, err
    regret = json.loads(out.strip().splitlines()[-1])["final_regret"]
    assert regret["beta_ts (segments)"]["mean"] < 0.5 * regret["beta_ts (global)"]["mean"]


def test_the_guardrail_keeps_traffic_off_the_breaking_prompt():
    free = [simulate_guardrail(BetaTSConfig(), 2000, s, guarded=False)[1] for s in range(3)]
    guarded = [simulate_guardrail(BetaTSConfig(), 2000, s, guarded=True)[1] for s in range(3)]
    assert np.mean(guarded) < 0.1 < 0.5 < np.mean(free)


def test_delayed_and_missing_feedback_cost_regret_but_still_learn():
    arms = [ArmSpec(mean=m) for m in (0.3, 0.5, 0.7)]
    prompt = np.mean([simulate(BetaTSConfig(), arms, 3000, s)[-1] for s in range(4)])
    late = np.mean([simulate(BetaTSConfig(), arms, 3000, s, delay=300, missing=0.5)[-1] for s in range(4)])
    uniform_regret = 3000 * (0.7 - 0.5)
    assert prompt < late < 0.5 * uniform_regret
