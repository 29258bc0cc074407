"""``Router``: Thompson-sampling (or baseline) routing of live requests over deployed prompt genomes.

Contract:
- ``route(features)`` picks an active arm and records the decision; returns ``Decision``.
- ``reward(decision_id, value)`` arrives later, at most once per decision (``UnknownDecision`` /
  ``DuplicateReward`` otherwise); Beta policies take rewards in [0, 1].
- The store is the truth: each router applies its own rewards to its in-memory policy at once and
  re-reads every arm's statistics from the store at most every ``refresh_s`` seconds, so several
  router processes sharing one store converge on the same posteriors.
- Arms always include a production arm: retiring the last active production arm is refused.
- Thread-safe. Randomness from one seeded ``numpy.random.Generator``.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

import numpy as np

from bandit.policies import build_policy
from bandit.store import ArmStore, StoreError, UnknownArm


class ProductionArmRequired(StoreError):
    pass


@dataclass(frozen=True)
class Decision:
    decision_id: str
    arm_id: str
    genome: dict


class Router:
    def __init__(self, store: ArmStore, policy_cfg, *, seed: int = 0, refresh_s: float = 0.5):
        self.store = store
        self.policy_cfg = policy_cfg
        self.rng = np.random.default_rng(seed)
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._last_refresh = 0.0
        self.refresh()

    # ---- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the policy from the store's arms and statistics."""
        arms = self.store.arms()
        policy = build_policy(self.policy_cfg)
        for _ in arms:
            policy.add_arm()
        if arms:
            policy.load_state_dict({"n": [a.n for a in arms], "s": [a.s for a in arms], "ss": [a.ss for a in arms],
                               "active": [a.active for a in arms]})
        with self._lock:
            self.policy = policy
            self.arm_rows = arms
            self.index = {a.id: i for i, a in enumerate(arms)}
            self._last_refresh = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._last_refresh >= self.refresh_s:
            self.refresh()

    # ---- traffic ---------------------------------------------------------------------------------
    def route(self, features: dict | None = None) -> Decision:
        self._maybe_refresh()
        with self._lock:
            if not any(a.active for a in self.arm_rows):
                raise StoreError("no active arms: deploy at least the production prompt")
            arm = self.arm_rows[self.policy.select(self.rng)]
        decision_id = secrets.token_hex(16)  # 128 random bits: no client can guess another's decision
        self.store.record_decision(decision_id, arm.id, features)
        return Decision(decision_id, arm.id, arm.genome)

    def reward(self, decision_id: str, value: float) -> str:
        value = float(value)
        if not np.isfinite(value):
            raise ValueError("reward must be a finite number")
        if self.policy_cfg.kind == "beta_ts" and not 0.0 <= value <= 1.0:
            raise ValueError("reward must be in [0, 1] for the beta_ts policy")
        arm_id = self.store.apply_reward(decision_id, value, self.policy_cfg.discount)
        with self._lock:
            i = self.index.get(arm_id)
            if i is not None:
                self.policy.update(i, value)
        return arm_id

    # ---- arms ------------------------------------------------------------------------------------
    def add_arm(self, arm_id: str, genome: dict, *, label: str = "", production: bool = False,
                replace: bool = False):
        row = self.store.add_arm(arm_id, genome, label=label, production=production, replace=replace)
        self.refresh()
        return row

    def retire_arm(self, arm_id: str) -> None:
        arms = {a.id: a for a in self.store.arms()}
        if arm_id not in arms:
            raise UnknownArm(arm_id)
        target = arms[arm_id]
        if target.production and target.active and not any(
                a.production and a.active and a.id != arm_id for a in arms.values()):
            raise ProductionArmRequired(f"{arm_id} is the last active production arm")
        self.store.retire_arm(arm_id)
        self.refresh()

    def status(self, draws: int = 4000) -> list[dict]:
        self.refresh()
        with self._lock:
            active = any(a.active for a in self.arm_rows)
            shares = self.policy.shares(np.random.default_rng(0), draws) if active else np.zeros(len(self.arm_rows))
            summary = self.policy.summary()
            rows = self.arm_rows
        return [{"arm_id": a.id, "label": a.label, "production": a.production, "active": a.active,
                 "share": float(shares[i]) if a.active else 0.0, **summary[i], "instruction": a.genome.get("instruction", "")}
                for i, a in enumerate(rows)]
