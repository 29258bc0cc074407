"""``Router``: Thompson-sampling (or baseline) routing of live requests over deployed prompt genomes.

Contract:
- ``route(features)`` (or ``await route_async(...)``) picks an active arm within the rollout caps and
  records the decision; it returns a ``Decision`` once the decision's row is committed.
- ``route(..., subject_id=...)``: a sticky subject (a user, a session) keeps the arm it was first
  assigned for ``sticky_ttl_s`` seconds, across requests, restarts and router processes (the
  assignment is a row of the store, read and written in the decision's transaction), while that arm
  stays active and not rolled back; otherwise it is drawn again. A held subject's decision logs the
  propensity of its assignment. Stickiness is per subject, so an arm's observed mean mixes its
  subjects' own differences into the arm's effect (docs/router.md measures this bias).
- ``reward(decision_id, value)`` (or ``await reward_async(...)``) arrives later, at most once per
  decision (``UnknownDecision`` / ``DuplicateReward`` otherwise) and returns once the reward is
  committed; Beta policies take rewards in [0, 1].
- The store is the truth: each router applies its own rewards to its in-memory policy at once and
  re-reads every arm's statistics from the store at most every ``refresh_s`` seconds, so several
  router processes sharing one store converge on the same posteriors. At each refresh the router
  reviews the rollout (``bandit.rollout.review``) and applies stage changes through the store.
- Arms always include a production arm: retiring the last active production arm is refused.
- Thread-safe. Randomness from seeded ``numpy.random.Generator``s.
"""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass

import numpy as np

from bandit.policies import Policy, build_policy, encode_features
from bandit.declared_metrics import guardrail_breaches
from bandit.rollout import ROLLED_BACK, RolloutConfig, ShareWindow, cap_of, review, stage_label
from bandit.segments import OTHER, segment_key, shrunk_state
from bandit.store import (ArmStore, DuplicateFeedback, DuplicateReward, StoreError, UnknownArm, UnknownDecision,
                          UnknownTarget)
from bandit.winner import verdict
from evo.genome import PromptGenome


class ProductionArmRequired(StoreError):
    pass


def _as_feedback(reward_future):
    """The outcome of a reward as a feedback outcome: ``{"decisions": 1, "rewarded": [arm]}``, with the
    reward's refusals as the feedback's (``DuplicateFeedback`` / ``UnknownTarget``)."""
    from concurrent.futures import Future

    out: Future = Future()

    def done(fut):
        try:
            arm = fut.result()
        except DuplicateReward as exc:
            out.set_exception(DuplicateFeedback(f"the objective already has a value for decision {exc}"))
        except UnknownDecision as exc:
            out.set_exception(UnknownTarget(f"no decision {exc}"))
        except BaseException as exc:  # noqa: BLE001 - every other failure reaches the caller as it is
            out.set_exception(exc)
        else:
            out.set_result({"decisions": 1, "rewarded": [arm]})
    reward_future.add_done_callback(done)
    return out


SUBJECT_ID_MAX = 128
DEFAULT_STICKY_TTL_S = 30 * 86400.0


def check_subject_id(subject_id: str) -> str:
    """``subject_id`` if it is 1-128 characters without control characters; ``ValueError`` otherwise."""
    if (not isinstance(subject_id, str) or not 0 < len(subject_id) <= SUBJECT_ID_MAX
            or any(ord(c) < 32 or ord(c) == 127 for c in subject_id)):
        raise ValueError(f"subject_id must be 1-{SUBJECT_ID_MAX} characters without control characters")
    return subject_id


@dataclass(frozen=True)
class Decision:
    decision_id: str
    arm_id: str
    genome: dict
    prompt: PromptGenome | None = None
    context: dict | None = None
    propensity: float | None = None


class Router:
    def __init__(self, store: ArmStore, policy_cfg, *, seed: int = 0, refresh_s: float = 0.5,
                 rollout: RolloutConfig | None = None, sticky_ttl_s: float = DEFAULT_STICKY_TTL_S):
        if not sticky_ttl_s > 0:
            raise ValueError("sticky_ttl_s must be positive")
        if build_policy(policy_cfg).contextual and (rollout or RolloutConfig()).segments.by:
            raise ValueError(f"{policy_cfg.kind} reads the request features itself: use it without segments")
        self._contextual_fit: dict | None = None
        self.sticky_ttl_s = float(sticky_ttl_s)
        self.store = store
        self.policy_cfg = policy_cfg
        self.rollout = rollout or RolloutConfig()
        self.rng = np.random.default_rng(seed)
        self.review_rng = np.random.default_rng([seed, 1])
        self.propensity_rng = np.random.default_rng([seed, 2])  # its own stream: routing draws are unchanged
        self.refresh_s = refresh_s
        self.window = ShareWindow(self.rollout.window)
        self._lock = threading.Lock()
        self._last_refresh = 0.0
        self.refresh()

    # ---- state ---------------------------------------------------------------------------------
    def refresh(self, review_rollout: bool = True) -> None:
        """Rebuild the policy from the store's arms and statistics, then apply rollout changes."""
        arms = self.store.arms()
        policy = build_policy(self.policy_cfg)
        for _ in arms:
            policy.add_arm()
        if arms:
            try:
                policy.load_state_dict({"n": [a.n for a in arms], "s": [a.s for a in arms],
                                        "ss": [a.ss for a in arms], "active": [a.active for a in arms]})
            except ValueError as exc:
                raise StoreError(str(exc)) from None
        index = {a.id: i for i, a in enumerate(arms)}
        if policy.contextual:
            self._fit_contextual(policy, arms)
        if review_rollout:
            changed = False
            for change in review(arms, index, policy, self.rollout, self.review_rng, time.time()):
                changed |= self.store.set_stage(change.arm_id, change.to_stage, expected=change.from_stage,
                                                reason=change.reason, **change.detail)
            changed |= self._maybe_declare_winner(arms)
            changed |= self._review_guardrails(arms)
            if changed:
                return self.refresh(review_rollout=False)
        segment_stats = self.store.segment_stats() if self.rollout.segments.by else {}
        prompts = {a.id: PromptGenome.from_json(a.genome) for a in arms}
        winner_declared = self.rollout.winner.enabled and self.store.declared_winner() is not None
        candidates = [(i, a.id, cap_of(a, self.rollout), a.production) for i, a in enumerate(arms) if a.active]
        with self._lock:
            self.policy = policy
            self.arm_rows = arms
            self.prompts = prompts
            self.index = index
            self.candidates = candidates
            self._declared = winner_declared
            self.segment_stats = segment_stats
            self.segment_policies: dict = {}
            self.capped = any(c < 1.0 for _, _, c, _ in candidates) or (
                self.rollout.enabled and self.rollout.production_floor > 0 and any(not p for *_, p in candidates))
            self._last_refresh = time.monotonic()

    def _review_guardrails(self, arms) -> bool:
        """Roll back every arm a guardrail metric says is worse than production (``bandit.declared_metrics``)."""
        cfg = self.rollout.metrics
        if not any(m.guardrail is not None for m in cfg.declared):
            return False
        production = next((a for a in arms if a.production and a.active), None)
        if production is None:
            return False
        changed = False
        current = {a.id: a for a in arms}
        for breach in guardrail_breaches(arms, production, self.store.metric_stats(), cfg, self.review_rng):
            arm = current[breach.pop("arm_id")]
            if arm.stage >= 0:
                changed |= self.store.set_stage(arm.id, ROLLED_BACK, expected=arm.stage, reason="guardrail", **breach)
        return changed

    def feedback(self, metric: str, value, *, decision_id: str | None = None, episode_id: str | None = None) -> dict:
        """Record a declared metric's value for a decision or an episode (see ``bandit.declared_metrics``);
        ``ValueError`` for an undeclared metric, the wrong level or a bad value."""
        fut, value = self._submit_feedback(metric, value, decision_id, episode_id)
        return self._learn_feedback(fut.result(), value)

    async def feedback_async(self, metric: str, value, *, decision_id: str | None = None,
                             episode_id: str | None = None) -> dict:
        fut, value = self._submit_feedback(metric, value, decision_id, episode_id)
        return self._learn_feedback(await asyncio.wrap_future(fut), value)

    def _submit_feedback(self, metric: str, value, decision_id, episode_id):
        cfg = self.rollout.metrics
        try:
            declared = cfg.metric(metric)
        except KeyError:
            names = ", ".join(m.name for m in cfg.declared) or "none declared"
            raise ValueError(f"unknown metric {metric!r} ({names})") from None
        if (decision_id is None) == (episode_id is None):
            raise ValueError("give exactly one of decision_id or episode_id")
        level = "decision" if decision_id is not None else "episode"
        if level != declared.level:
            raise ValueError(f"metric {metric!r} is {declared.level}-level: give its {declared.level}_id")
        value = declared.check_value(value)
        objective = metric == cfg.objective
        if objective:
            value = self._check_reward(value)
        if objective and level == "decision":  # the reward itself: its once-per-decision rule is the metric's
            return _as_feedback(self.store.submit_reward(decision_id, value, self.policy_cfg.discount)), value
        target = decision_id if decision_id is not None else check_subject_id(episode_id)
        return self.store.submit_feedback(level, target, metric, value,
                                          objective_discount=self.policy_cfg.discount if objective else None), value

    def _learn_feedback(self, outcome: dict, value: float) -> dict:
        for arm in outcome["rewarded"]:  # the objective's value rewarded these decisions
            self._learn(arm, value)
        return {"decisions": outcome["decisions"], "rewarded": len(outcome["rewarded"])}

    def segment_status(self) -> dict:
        """segment -> arm id -> {pulls, mean_reward} of the segment's own rewards (from the store)."""
        return {g: {a: {"pulls": n, "mean_reward": s / n if n else None} for a, (n, s, _) in arms.items()}
                for g, arms in sorted(self.store.segment_stats().items())}

    CONTEXT_OVERLAP_S = 5.0  # rewards committed late by another process still land in the next fit

    def _fit_contextual(self, policy, arms) -> None:
        """A contextual policy's model from the store's rewarded decisions (every router process reads
        the same log): incremental over the rewards since the last fit, re-reading a short overlap and
        skipping decisions already applied."""
        ids = [a.id for a in arms]
        prev = self._contextual_fit
        since, seen = 0.0, {}
        if prev is not None and ids[:len(prev["ids"])] == prev["ids"]:
            k = len(prev["ids"])
            policy.A[:k], policy.b[:k] = prev["A"], prev["b"]
            since, seen = prev["watermark"] - self.CONTEXT_OVERLAP_S, prev["seen"]
        index = {a: i for i, a in enumerate(ids)}
        watermark = prev["watermark"] if prev is not None and since else 0.0
        for did, arm_id, features, reward, ts in self.store.rewarded_since(since):
            watermark = max(watermark, ts)
            if did in seen or arm_id not in index:
                continue
            seen[did] = ts
            x = encode_features(features, policy.cfg)
            policy.A[index[arm_id]] += np.outer(x, x)
            policy.b[index[arm_id]] += reward * x
        seen = {d: t for d, t in seen.items() if t >= watermark - self.CONTEXT_OVERLAP_S}
        self._contextual_fit = {"ids": ids, "A": policy.A.copy(), "b": policy.b.copy(), "watermark": watermark,
                                "seen": seen}

    def experiment(self, arms=None) -> dict | None:
        """The winner declaration's state (``bandit.winner``): the stopping statistic against its
        threshold over the active arms, or the winner once declared; None when the mode is off."""
        cfg = self.rollout.winner
        if not cfg.enabled:
            return None
        declared = self.store.declared_winner()
        if declared is not None:
            return {"declared": declared}
        active = [a for a in (arms if arms is not None else self.store.arms()) if a.active]
        v = verdict([a.n for a in active], [a.s for a in active], cfg)
        return {"declared": None, **v.to_json([a.id for a in active]), "delta": cfg.delta, "epsilon": cfg.epsilon,
                "min_pulls": cfg.min_pulls}

    def _maybe_declare_winner(self, arms) -> bool:
        state = self.experiment(arms)
        if state is None or state["declared"] is not None or not state["stop"] or len([a for a in arms if a.active]) < 2:
            return False
        evidence = {k: state[k] for k in ("statistic", "threshold", "pulls", "closest_challenger", "delta", "epsilon")}
        arm = {a.id: a for a in arms}[state["leader"]]
        evidence["means"] = {a.id: round(a.s / a.n, 4) if a.n else None for a in arms if a.active}
        evidence["leader_pulls"] = arm.n
        return self.store.declare_winner(arm.id, evidence, retire_others=self.rollout.winner.on_stop == "retire")

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._last_refresh >= self.refresh_s:
            self.refresh()

    # ---- traffic ---------------------------------------------------------------------------------
    def _segment_policy(self, segment: str | None):
        """The policy of ``segment`` (built on first use after each refresh; see ``bandit.segments``)."""
        if segment is None:
            return self.policy
        policy = self.segment_policies.get(segment)
        if policy is None:
            own = {self.index[a]: stats for a, stats in self.segment_stats.get(segment, {}).items() if a in self.index}
            policy = build_policy(self.policy_cfg)
            for _ in range(self.policy.n_arms):
                policy.add_arm()
            policy.load_state_dict(shrunk_state(self.policy.state_dict(), own, self.rollout.segments.shrinkage))
            self.segment_policies[segment] = policy
        return policy

    def segment_of(self, features: dict | None) -> str | None:
        """The segment a request with ``features`` routes in (``other`` past ``max_segments``)."""
        segment = segment_key(features, self.rollout.segments)
        if segment is None:
            return None
        with self._lock:
            known = segment in self.segment_stats or segment in self.segment_policies
            full = len(set(self.segment_stats) | set(self.segment_policies)) >= self.rollout.segments.max_segments
        return segment if known or not full else OTHER

    def _decide(self, features: dict | None, subject_id: str | None, episode_id: str | None = None):
        if subject_id is not None:
            check_subject_id(subject_id)
        if episode_id is not None:
            check_subject_id(episode_id)
        segment = self.segment_of(features)
        self._maybe_refresh()
        if not self.candidates:
            self.refresh()  # arms may have been deployed through another router since the last refresh
        with self._lock:
            if not self.candidates:
                raise StoreError("no active arms: deploy at least the production prompt")
            allowed = (self.window.allowed(self.candidates, self.rollout.production_floor if self.rollout.enabled else 0.0)
                       if self.capped else None)
            starved = self._below_min_pulls(allowed)
            holdout_share = self.rollout.metrics.holdout
            production = next((i for i, _, _, prod in self.candidates if prod), None)
            holdout = bool(holdout_share and production is not None and self.rng.random() < holdout_share)
            if starved is not None:  # winner declaration: every arm gets its minimum sample first
                chosen, propensity = starved, 1.0
            elif holdout:  # the control share: production, to measure the experiment's lift
                policy = self._segment_policy(segment)
                chosen = production
                context = {"context": features} if policy.contextual else {}
                propensity = holdout_share + (1 - holdout_share) * float(
                    policy.propensity(self.propensity_rng, chosen, allowed, **context))
            else:
                policy = self._segment_policy(segment)
                if policy.contextual:
                    chosen = policy.select(self.rng, allowed, context=features)
                    propensity = float(policy.propensity(self.propensity_rng, chosen, allowed, context=features))
                else:
                    chosen = policy.select(self.rng, allowed)
                    propensity = float(policy.propensity(self.propensity_rng, chosen, allowed))
                if holdout_share and production is not None:
                    propensity = (1 - holdout_share) * propensity + holdout_share * (chosen == production)
            arm_id = self.arm_rows[chosen].id
            # a held subject keeps an arm that is still active and not rolled back (cap > 0)
            sticky = (None if subject_id is None else
                      (subject_id, self.sticky_ttl_s, frozenset(a for _, a, cap, _ in self.candidates if cap > 0)))
            if sticky is None:
                self.window.push(arm_id)
        decision_id = secrets.token_hex(16)  # 128 random bits: no client can guess another's decision
        pending = self.store.submit_decision(decision_id, arm_id, features, propensity, sticky, segment, episode_id,
                                             holdout or None)
        return decision_id, pending, sticky is not None

    def _below_min_pulls(self, allowed) -> int | None:
        """With winner declaration on and no winner yet: the least-pulled allowed arm under the
        experiment's ``min_pulls`` (None when every arm has it)."""
        cfg = self.rollout.winner
        if not cfg.enabled or self._declared:
            return None
        idx = [i for i in (allowed if allowed is not None else range(self.policy.n_arms)) if self.policy.active[i]]
        under = [i for i in idx if self.policy.n[i] < cfg.min_pulls]
        return min(under, key=lambda i: (self.policy.n[i], i)) if under else None

    def _decision(self, decision_id: str, committed: tuple, sticky: bool) -> Decision:
        arm_id, propensity = committed
        with self._lock:
            if sticky:
                self.window.push(arm_id)
            row = self.arm_rows[self.index[arm_id]] if arm_id in self.index else self.store.arm(arm_id)
            prompt = self.prompts.get(arm_id) or PromptGenome.from_json(row.genome)
        return Decision(decision_id, arm_id, row.genome, prompt, row.context, propensity)

    def route(self, features: dict | None = None, subject_id: str | None = None,
              episode_id: str | None = None) -> Decision:
        decision_id, pending, sticky = self._decide(features, subject_id, episode_id)
        return self._decision(decision_id, pending.result(), sticky)

    async def route_async(self, features: dict | None = None, subject_id: str | None = None,
                          episode_id: str | None = None) -> Decision:
        decision_id, pending, sticky = self._decide(features, subject_id, episode_id)
        return self._decision(decision_id, await asyncio.wrap_future(pending), sticky)

    def _check_reward(self, value: float) -> float:
        """The policy's own rule (``Policy.check_reward``): finite and within its ``reward_range``."""
        with self._lock:
            return self.policy.check_reward(value)

    def _learn(self, arm_id: str, value: float) -> str:
        with self._lock:
            i = self.index.get(arm_id)
            if i is not None:
                if self.policy.contextual:  # its model is refitted from the store's log at each refresh
                    Policy.update(self.policy, i, value)
                else:
                    self.policy.update(i, value)
                segment = self.segment_policies.get(getattr(arm_id, "segment", None))
                if segment is not None:
                    segment.update(i, value)
        return str(arm_id)

    def reward(self, decision_id: str, value: float) -> str:
        value = self._check_reward(value)
        return self._learn(self.store.submit_reward(decision_id, value, self.policy_cfg.discount).result(), value)

    async def reward_async(self, decision_id: str, value: float) -> str:
        value = self._check_reward(value)
        arm_id = await asyncio.wrap_future(self.store.submit_reward(decision_id, value, self.policy_cfg.discount))
        return self._learn(arm_id, value)

    # ---- arms ------------------------------------------------------------------------------------
    def add_arm(self, arm_id: str, genome: dict, *, label: str = "", production: bool = False,
                replace: bool = False, context: dict | None = None):
        row = self.store.add_arm(arm_id, genome, label=label, production=production, replace=replace,
                                 context=context)
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
        """Per arm: rollout stage and cap, recent traffic share, pulls, the observed mean reward, the
        posterior mean with its 95% credible interval, and P(best) among the active arms (all from
        posterior draws, seeded; the posterior mean is what the interval is around: with few pulls it
        sits between the prior and the observed mean)."""
        self.refresh()
        with self._lock:
            rows, policy = self.arm_rows, self.policy
        summary = policy.summary()
        samples = policy.posterior_draws(np.random.default_rng(0), draws) if rows else np.zeros((0, draws))
        active = np.array([a.active for a in rows], dtype=bool)
        p_best = np.zeros(len(rows))
        if active.any():
            winners = np.flatnonzero(active)[np.argmax(samples[active], axis=0)]
            p_best = np.bincount(winners, minlength=len(rows)) / draws
        shares = self.store.recent_shares()
        out = []
        for i, a in enumerate(rows):
            lo, hi = (np.quantile(samples[i], [0.025, 0.975]) if a.n > 0 else (None, None))
            out.append({"arm_id": a.id, "label": a.label, "production": a.production, "active": a.active,
                        "stage": stage_label(a, self.rollout) if a.active else "retired",
                        "cap": cap_of(a, self.rollout) if a.active else 0.0,
                        "share": shares.get(a.id, 0.0), "p_best": float(p_best[i]), **summary[i],
                        "ci95": None if lo is None else [float(lo), float(hi)],
                        "posterior_mean": float(samples[i].mean()) if a.n > 0 else None,
                        "instruction": a.genome.get("instruction", "")})
        return out
