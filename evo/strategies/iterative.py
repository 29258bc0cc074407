"""Iterative meta-prompt refinement: an optimizer model rewrites the instruction from rich feedback.

Each iteration the optimizer sees the current instruction, training results (counts, diffs for a
capped representative set of failures), failure categories with data-driven patterns, root causes and
fixes, and the optimization memory (lessons + the last ``memory_window`` iterations). It proposes
``n_candidates`` rewrites at ``temperature``; all are evaluated; the best is chosen with ``>=`` against
the current score, except that while the current pass rate is below ``strict_below`` only a strict
improvement is accepted (adaptive acceptance).

Phases:
1. ``train``: until 100% on train, ``max_train_iterations`` or ``plateau`` iterations without gain.
2. ``validation``: it starts from the train-phase winner or, if the seed scores higher on val, from
   the seed (a train-overfit winner is not carried forward). Every candidate is also re-checked on train and rejected if it fails a training
   case the current instruction passes; survivors compete on val. After a round in which candidates
   were rejected for breaking training, the next meta-prompt combines the validation patterns to fix
   with the specific training cases that broke. Validation examples reach the optimizer only as
   aggregate patterns, never verbatim.
3. The held-out test is scored by the run loop after the strategy finishes; it never reaches here.

The first iteration also tries the structural prior (settings variants of the seed: demos, the
suite's description, an answer-only constraint, ...); when several candidates of a train iteration
beat the current instruction, the next iteration also tries their changes together
(``evo.operators.structural.combine_changes``).

Unusable proposals (no tags, empty, truncated, unchanged, duplicate, backend error, a copy of the
feedback or meta-prompt, a held-out answer: see ``evo.operators.guard``) are rejected with a recorded
reason and the run goes on.
"""
from __future__ import annotations

from enum import Enum

from evo.genome import PromptGenome
from evo.optimizer.llm import OptimizerLLM
from evo.rng import stream
from evo.operators.structural import prior_size
from evo.strategies.base import EvalRequest, Results, Strategy, check_state
from evo.strategies.iterative_config import IterativeConfig  # noqa: F401 - re-exported
from evo.strategies.iterative_judge import Incumbent, judge_train, judge_validation
from evo.strategies.iterative_proposer import Candidate, IterativeProposer, ProposalContext
from evo.strategies.memory import IterationHistory, OptimizationMemory
from evo.strategies.racing import Screen, example_scores
from evo.tasks.suite import TaskSuite

STATE_VERSION = 6


class Phase(str, Enum):
    INIT = "init"
    TRAIN = "train"
    VALIDATION = "validation"
    DONE = "done"


class IterativeStrategy(Strategy):
    name = "iterative"

    def __init__(self, config: IterativeConfig, suite: TaskSuite, seed_genome: PromptGenome,
                 optimizer: OptimizerLLM, seed: int = 0):
        self.config = config
        self.seed = seed  # the run seed: race orders and structural demo draws are streams of it
        self.suite = suite
        self.optimizer = optimizer
        self.inc = Incumbent(seed_genome)  # the instruction candidates are judged against, and its feedback
        self.anchor = Incumbent(seed_genome)  # what validation falls back to: the seed, then each round's start
        self.extensions: list[dict] = []
        self.phase = Phase.INIT
        self.iteration = 0
        self.phase_iterations = 0
        self.stall = 0
        self.history = IterationHistory(config.memory_window)  # the optimizer's memory and every iteration
        self.pending: list[Candidate] = []
        # train-phase screening (evo.strategies.racing): candidates race the current instruction on
        # minibatches; only the ones that beat it there are evaluated on the whole training split
        self.screen = Screen(config, optimizer.budget, suite.counts()["train"])
        self.accepted: list[PromptGenome] = [seed_genome]  # every genome that became current, in order
        self.proposer = IterativeProposer(config, suite, optimizer, seed_genome, seed=seed,
                                          prior=prior_size(config.structural_prior, bool(self.screen.minibatch)))

    # ---- interface -------------------------------------------------------------------------
    @property
    def rounds(self) -> int:
        """Rounds (train then validation) begun: the first and one per extension."""
        return 1 + len(self.extensions)

    def best(self) -> PromptGenome:
        return self.inc.genome

    def selection_score(self) -> float:
        if self.phase == Phase.INIT or self.inc.train is None:
            return float("-inf")
        return self.inc.train["score"] + (self.inc.val["score"] if self.inc.val else 0.0)

    def ask(self) -> list[EvalRequest]:
        if self.finished:
            return []
        if self.phase == Phase.INIT:
            return [EvalRequest(self.inc.genome, "train", tag="current")]
        if self.phase == Phase.VALIDATION and self.inc.val is None:
            reqs = [EvalRequest(self.inc.genome, "val", tag="current")]
            if self.inc.genome.id != self.anchor.genome.id:
                reqs.append(EvalRequest(self.anchor.genome, "val", tag="anchor"))  # guard against a train-overfit winner
            return reqs
        if self.screen.race is not None:
            return self._race_requests()
        n = self._affordable_candidates()
        if n == 0:
            self.stop_reason = "the budget left cannot pay for one more candidate"
            return []
        self.iteration += 1
        self.phase_iterations += 1
        self.pending = self.proposer.propose(self._proposal_context(), n)
        split = "train" if self.phase == Phase.TRAIN else "val"
        ids = [e.id for e in self.suite.split(split)]
        minibatch = self.minibatch_for(split)
        racers = [c.tag for c in self.pending if c.genome]
        if minibatch and racers:
            order_rng = stream(self.seed, f"race:{split}:{self.iteration}")
            order = [ids[i] for i in order_rng.permutation(len(ids))]
            self.screen.start(order, minibatch, racers, "bar")
            return self._race_requests()
        splits = ("train",) if self.phase == Phase.TRAIN else ("train", "val")
        return [EvalRequest(c.genome, s, tag=c.tag) for c in self.pending if c.genome for s in splits]

    def _proposal_context(self) -> ProposalContext:
        inc, memory = self.inc, self.history.memory.to_text() if self.config.memory else "(memory disabled)"
        return ProposalContext(inc.genome, self.iteration, self.phase != Phase.TRAIN, inc.train_feedback,
                               inc.val_feedback, inc.feedback_short, inc.broken_cases, memory, inc.train,
                               self._affordable_candidates)

    def minibatch_for(self, split: str) -> int:
        """The first-rung size of a race on ``split`` (0: no screening): the train phase races on train,
        the validation phase on val (finalists are then checked on the whole train split too)."""
        return self.screen.minibatch_for(self.suite.counts()[split])

    def _race_requests(self) -> list[EvalRequest]:
        by_tag = {c.tag: c for c in self.pending}
        split = "train" if self.phase == Phase.TRAIN else "val"
        race, counts = self.screen.race, self.suite.counts()
        # validation-phase finalists are checked on the whole train split too
        self.screen.trim(race.next_rung_cost(counts[split]) + (counts["train"] if race.final and split == "val" else 0))
        if race.final:
            splits = ("train",) if self.phase == Phase.TRAIN else ("train", "val")
            return [EvalRequest(by_tag[t].genome, s, tag=t) for t in race.alive for s in splits]
        examples = race.examples()
        return ([EvalRequest(by_tag[t].genome, split, tag=t, examples=examples) for t in race.alive]
                + [EvalRequest(self.inc.genome, split, tag="bar", examples=examples)])

    def _affordable_candidates(self, extra: int = 0) -> int:
        """How many candidates the budget left can still pay for (each: one optimizer call plus its
        evaluations), at most ``n_candidates`` (+ ``extra``)."""
        counts = self.suite.counts()
        per = counts["train"] + (counts["val"] if self.phase == Phase.VALIDATION else 0)
        first_rung = self.minibatch_for("train" if self.phase == Phase.TRAIN else "val")
        if first_rung:
            per = first_rung  # the first rung; the rest is paid only by candidates that earn it
        budget = self.optimizer.budget
        return max((k for k in range(self.config.n_candidates + extra + 1) if budget.affords(k * per, k)), default=0)

    def extend(self) -> bool:
        """Another round (train phase, then validation) from the current best, with fresh optimizer
        samples, when the phases ended on their iteration caps or a plateau; not after 100% on
        validation, not when validation is disabled or the budget ran out, not with ``extend_to_budget: false``."""
        reason = self.stop_reason or ""
        if (not self.config.extend_to_budget or self.config.max_val_iterations == 0 or reason.startswith("100%")
                or "budget" in reason):
            return False
        self.extensions.append({"after_iteration": self.iteration, "stopped": reason, "round": self.rounds + 1})
        self.anchor = self.inc.snapshot()
        self.stop_reason, self.phase, self.phase_iterations, self.stall = None, Phase.TRAIN, 0, 0
        self.inc.val = None  # the next validation phase re-measures its starting point
        return True

    def tell(self, results: Results) -> None:
        by_tag = {(request.tag, request.split): batch for request, batch in results}
        if self.phase == Phase.INIT:
            self.inc.set_train(by_tag["current", "train"], self.config)
            self.anchor = self.inc.snapshot()
            self.phase = Phase.TRAIN
            self.history.last = {"phase": "train", "event": "baseline", "train_score": self.inc.train["score"]}
            if self._phase_done() is not None:
                self._enter_validation()
            return
        if ("current", "val") in by_tag:  # the validation phase's starting point
            chosen = current = by_tag["current", "val"]
            anchor = by_tag.get(("anchor", "val"))
            if anchor is not None and anchor.mean_score > current.mean_score + 1e-12:
                # the anchor (the seed, or the round's starting best) generalizes better than the
                # train-phase winner: continue from the anchor
                self.inc.genome = self.anchor.genome
                self.inc.restore_train_state(self.anchor.train_state())
                chosen = anchor
            self.inc.set_val(chosen)
            self.history.last = {"phase": "validation", "event": "baseline", "val_score": self.inc.val["score"],
                                 "restarted_from_seed": chosen is not current}
            if (done := self._phase_done()) is not None:
                self.stop_reason, self.phase = done, Phase.DONE
            return
        if self.screen.race is not None and not self._tell_race(results):
            return
        for cand in self.pending:
            for split in ("train", "val"):
                if (cand.tag, split) in by_tag:
                    cand.batches[split] = by_tag[cand.tag, split]
        if self.phase == Phase.TRAIN:
            self._tell_train()
        else:
            self._tell_validation()

    def _tell_race(self, results: Results) -> bool:
        """One rung of the train-phase race; True once it is over (its finalists were evaluated on the
        whole split, or none is left), the dropped candidates then carry why they were."""
        race = self.screen.race
        split = "train" if self.phase == Phase.TRAIN else "val"
        by_tag = {(request.tag, request.split): batch for request, batch in results}
        if race.final:
            race.update({t: [by_tag[t, split].mean_score] for t in race.alive})
        else:
            examples = race.examples()
            race.update({t: example_scores(by_tag[t, split], examples) for t in race.alive + ["bar"]})
        if not race.done:
            self.history.last = {"phase": self.phase.value, "event": f"race rung {race.rung}",
                                 "iteration": self.iteration, "alive": len(race.alive)}
            return False
        self.screen.finish()
        for cand in self.pending:
            if cand.tag in race.dropped:
                cand.rejected = f"screened out: {race.dropped[cand.tag]}"
        return True

    # ---- acceptance --------------------------------------------------------------------------
    def _tell_train(self) -> None:
        verdict = judge_train(self.pending, self.inc.train, self.config.strict_below)
        self.proposer.queue_combination(self.inc.genome, verdict.valid, verdict.before)
        if verdict.accepted:
            self._accept(verdict.best.genome)
            self.inc.set_train(verdict.best.batches["train"], self.config)
        self.stall = 0 if verdict.improved else self.stall + 1
        self._remember(verdict.best, verdict.before, verdict.after, verdict.accepted)
        if self._phase_done() is not None:
            self._enter_validation()

    def _tell_validation(self) -> None:
        verdict = judge_validation(self.pending, self.inc.train, self.inc.val, self.config.strict_below)
        self.inc.broken_cases = verdict.broken_cases
        if verdict.accepted:
            self._accept(verdict.best.genome)
            self.inc.set_train(verdict.best.batches["train"], self.config)
            self.inc.set_val(verdict.best.batches["val"])
        self.stall = 0 if verdict.improved else self.stall + 1
        self._remember(verdict.best or (verdict.valid[0] if verdict.valid else None), verdict.before, verdict.after,
                       verdict.accepted)
        if (done := self._phase_done()) is not None:
            self.stop_reason, self.phase = done, Phase.DONE

    # ---- bookkeeping ------------------------------------------------------------------------
    def _accept(self, genome: PromptGenome) -> None:
        self.inc.genome = genome
        if all(g.id != genome.id for g in self.accepted):
            self.accepted.append(genome)

    def final_candidates(self) -> list[PromptGenome]:
        """The current genome, then the ones accepted before it (newest first), ``final_candidates`` in
        all: a step accepted on a few more training examples is checked on val against its
        predecessors (the run loop keeps the first of equal val scores, the current one)."""
        earlier = [g for g in reversed(self.accepted) if g.id != self.inc.genome.id]
        return ([self.inc.genome] + earlier)[: self.config.final_candidates]

    def _phase_done(self) -> str | None:
        """Why the current phase is over, or None."""
        if self.phase == Phase.TRAIN:
            limit, rate = self.config.max_train_iterations, self.inc.train["pass_rate"]
        else:
            limit, rate = self.config.max_val_iterations, self.inc.val["pass_rate"] if self.inc.val else 0.0
        if rate >= 1.0 - 1e-12:
            return f"100% on {self.phase.value}"
        if self.phase_iterations >= limit:
            return f"{self.phase.value}: {limit} iterations done"
        if self.stall >= self.config.plateau:
            return f"{self.phase.value}: plateau ({self.stall} iterations without improvement)"
        return None

    def _enter_validation(self) -> None:
        self.phase = Phase.VALIDATION
        self.phase_iterations = 0
        self.stall = 0
        if self.config.max_val_iterations == 0:
            self.stop_reason = "validation phase disabled"
            self.phase = Phase.DONE

    def _remember(self, best: Candidate | None, before: float, after: float, accepted: bool) -> None:
        self.history.remember(iteration=self.iteration, phase="train" if self.phase == Phase.TRAIN else "validation",
                              best=best, before=before, after=after, accepted=accepted, current=self.inc.genome,
                              pending=self.pending, feedback=self.inc.train_feedback,
                              meta_prompt=self.proposer.meta_prompt_sent)

    def step_record(self) -> dict:
        return dict(self.history.last)

    def report(self) -> dict:
        proposals = self.proposer.proposals
        total = proposals["total"]
        return {"phase": self.phase.value, "rounds": self.rounds, "extensions": list(self.extensions),
                "screening": {"minibatch": self.screen.minibatch, "racing": self.config.racing, **self.screen.counters},
                "optimizer_proposals": {**proposals, "usable_share": proposals["usable"] / total if total else None},
                "iterations": list(self.history.records)}

    # ---- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "schema_version": STATE_VERSION, "strategy": self.name, "config": self.config.model_dump(),
            "current": self.inc.genome.to_json(), "phase": self.phase.value, "iteration": self.iteration,
            "phase_iterations": self.phase_iterations, "stall": self.stall, **self.inc.state(),
            "anchor": self.anchor.genome.to_json(), "rounds": self.rounds,
            "anchor_train_state": self.anchor.train_state() if self.anchor.train is not None else None,
            "extensions": self.extensions, "memory": self.history.memory.state_dict(), "tried": sorted(self.proposer.tried),
            "records": self.history.records, "stop_reason": self.stop_reason,
            "tried_genomes": sorted(self.proposer.tried_genomes), "proposals": dict(self.proposer.proposals),
            "race": self.screen.state()[0], "screening": self.screen.state()[1],
            "pending": [c.to_json() for c in self.pending] if self.screen.race else [],
            "meta_prompt_sent": self.proposer.meta_prompt_sent,
            "queued": [g.to_json() for g in self.proposer.queued], "expanded": sorted(self.proposer.expanded),
            "accepted": [g.to_json() for g in self.accepted],
        }

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        self.inc.genome = PromptGenome.from_json(state["current"])
        self.phase = Phase(state["phase"])
        for key in ("iteration", "phase_iterations", "stall", "stop_reason", "extensions"):
            setattr(self, key, state[key])
        self.inc.load(state)
        self.anchor = Incumbent(PromptGenome.from_json(state["anchor"]))
        if state["anchor_train_state"] is not None:
            self.anchor.restore_train_state(state["anchor_train_state"])
        self.history.memory = OptimizationMemory.from_state(state["memory"])
        self.history.records = state["records"]
        proposer = self.proposer
        proposer.tried = set(state["tried"])
        proposer.tried_genomes = set(state["tried_genomes"])
        proposer.proposals = dict(state["proposals"])
        self.screen.restore(state["race"], state["screening"])
        self.pending = [Candidate.from_json(c) for c in state["pending"]]
        proposer.meta_prompt_sent = state["meta_prompt_sent"]
        proposer.queued = [PromptGenome.from_json(g) for g in state["queued"]]
        proposer.expanded = set(state["expanded"])
        self.accepted = [PromptGenome.from_json(g) for g in state["accepted"]]
