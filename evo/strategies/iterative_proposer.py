"""Where an iterative step's candidates come from (GEPA's proposer split): ``IterativeProposer``.

Per iteration, in order: the optimizer model's rewrites of the current instruction (the meta-prompt
carries train feedback, validation patterns, broken cases and the memory), screened for extraction
failures, no-ops, duplicates and leaks of held-out data (``ProposalGuard``); a feedback-driven edit in
every unusable slot (``evo.optimizer.fallback``); the structural prior of a new current genome
(``evo.operators.structural``); the combination queued by the last train step. It owns what was
tried (instruction hashes and genome ids), the proposal counters, the queue and the genomes already
expanded; the strategy decides which candidates are accepted. No randomness but seeded streams.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from evo.genome import PromptGenome, stable_hash
from evo.operators.guard import ProposalGuard
from evo.operators.structural import bootstrapped_demos, combine_changes, structural_variants
from evo.optimizer.fallback import fallback_edits
from evo.optimizer.llm import OptimizerLLM, extract_instruction, extract_tagged
from evo.optimizer.meta_prompts import render
from evo.rng import stream
from evo.tasks.suite import TaskSuite


@dataclass
class Candidate:
    """One proposal of an iteration: the genome (None when rejected before evaluation), how it was
    extracted, the optimizer's stated change and target, its results and the verdict."""

    tag: str
    genome: PromptGenome | None = None
    how: str = ""
    change: str = ""
    targets: str = ""
    rejected: str | None = None
    train: dict | None = None
    val: dict | None = None
    batches: dict = field(default_factory=dict)  # split -> EvalBatch, this step only
    fallback_for: str | None = None  # why the optimizer's proposal was unusable, when a fallback edit replaced it

    def to_json(self) -> dict:
        """What a resumed race needs (batches are not kept: the next rung brings its own)."""
        return {"tag": self.tag, "genome": self.genome.to_json() if self.genome else None, "how": self.how,
                "change": self.change, "targets": self.targets, "rejected": self.rejected,
                "fallback_for": self.fallback_for}

    @classmethod
    def from_json(cls, data: dict) -> "Candidate":
        genome = PromptGenome.from_json(data["genome"]) if data["genome"] else None
        return cls(data["tag"], genome, data["how"], data["change"], data["targets"], data["rejected"],
                   fallback_for=data["fallback_for"])

    def to_record(self) -> dict:
        return {"id": self.genome.id if self.genome else None,
                "instruction": self.genome.instruction if self.genome else None, "extracted_by": self.how,
                "change": self.change, "targets": self.targets, "train": self.train, "val": self.val,
                "rejected": self.rejected, "fallback_for": self.fallback_for}


@dataclass
class ProposalContext:
    """What the strategy tells its proposer about the iteration it is in."""

    current: PromptGenome
    iteration: int  # counts from 1
    validation: bool  # the validation phase (its patterns join the feedback when cases broke)
    train_feedback: str
    val_feedback: str
    feedback_short: str
    broken_cases: list
    memory_text: str
    cur_train: dict | None  # the current genome's train summary (its failing ids feed fallback edits)
    affordable: Callable[[int], int]  # candidates the budget pays for, given ``extra`` beyond n_candidates


class IterativeProposer:
    def __init__(self, config, suite: TaskSuite, optimizer: OptimizerLLM, seed_genome: PromptGenome, *,
                 seed: int, prior: int):
        self.config, self.suite, self.optimizer, self.seed, self.prior = config, suite, optimizer, seed, prior
        self.guard = ProposalGuard(suite, seed_instruction=seed_genome.instruction)
        self.tried: set[str] = {stable_hash(seed_genome.instruction.strip())}
        self.tried_genomes: set[str] = {seed_genome.id}  # every genome proposed (fallback edits are checked here)
        self.proposals = {"total": 0, "usable": 0, "fallbacks": 0}
        self.meta_prompt_sent = ""
        # a candidate of the next iteration: the changes of several candidates that each beat the
        # current instruction on train, combined (evo.operators.structural.combine_changes)
        self.queued: list[PromptGenome] = []
        self.expanded: set[str] = set()  # genomes whose structural variants were proposed

    def meta_prompt(self, ctx: ProposalContext) -> tuple[str, str]:
        placement = ("It is placed in the system turn." if ctx.current.placement == "system"
                     else "It is placed at the start of the user turn, before the input.")
        if not ctx.validation or not ctx.broken_cases:
            feedback = ctx.train_feedback
        else:
            feedback = ctx.train_feedback + "\n\nOn held-out validation data (aggregate patterns only):\n" + ctx.val_feedback
        combined = ""
        if ctx.broken_cases:
            combined = ("\n# Your last candidates broke these training cases (they passed before); keep them "
                        "passing while fixing the validation patterns:\n" + "\n".join(
                            f"- input: {c['input']!r} expected: {c['expected']!r} got: {c['actual']!r}"
                            for c in ctx.broken_cases) + "\n")
        return render(
            self.config.template,
            task_description=self.suite.description or self.suite.name,
            placement_note=placement,
            current_prompt=ctx.current.instruction or "(empty: no instruction yet)",
            feedback=feedback,
            combined_feedback=combined,
            memory=ctx.memory_text,
            feedback_short=ctx.feedback_short,
        )

    def propose(self, ctx: ProposalContext, n: int) -> list[Candidate]:
        """The iteration's candidates (at most ``n`` from the optimizer, then fallbacks, structural and queued)."""
        system, user = self.meta_prompt(ctx)
        proposals = self.optimizer.generate(
            system, user, n=n, temperature=self.config.temperature,
            max_tokens=self.config.optimizer_max_tokens, sample_offset=ctx.iteration * 16)
        candidates, seen = [], set()
        for i, p in enumerate(proposals):
            cand = Candidate(tag=f"candidate{i}")
            if p.error:
                cand.rejected = f"optimizer error: {p.error}"
            else:
                text, cand.how = extract_instruction(p.text, p.stop_reason, self.config.extraction == "lenient")
                cand.change = (extract_tagged(p.text, "change")[0] or "")[:200]
                cand.targets = (extract_tagged(p.text, "target")[0] or "")[:120]
                key = stable_hash(text.strip()) if text else None
                leak = self.guard.check(text, shown=f"{system}\n{user}", current=ctx.current.instruction) if text else None
                if text is None:
                    cand.rejected = cand.how
                elif text.strip() == ctx.current.instruction.strip():
                    cand.rejected = "unchanged"
                elif key in seen or key in self.tried:
                    cand.rejected = "duplicate"
                elif leak:
                    cand.rejected = leak
                else:
                    seen.add(key)
                    cand.genome = ctx.current.replace(instruction=text, parents=(ctx.current.id,), operator="iterative")
            candidates.append(cand)
        self.tried |= seen
        self.proposals["total"] += len(candidates)
        self.proposals["usable"] += sum(1 for c in candidates if c.genome is not None)
        self.tried_genomes |= {c.genome.id for c in candidates if c.genome is not None}
        if self.config.fallback:
            self.fill_with_fallbacks(ctx, candidates)
        if self.prior and ctx.current.id not in self.expanded and (
                ctx.iteration == 1 or self.config.structural_follow):
            self.expanded.add(ctx.current.id)
            candidates += self.structural_candidates(ctx, len(candidates))
        candidates += self.queued_candidates(ctx, len(candidates))
        self.meta_prompt_sent = user
        return candidates

    def structural_candidates(self, ctx: ProposalContext, first_tag: int) -> list[Candidate]:
        """The structural prior (evo.operators.structural) of the current genome: settings changes with
        a high expected yield, not tried before, as many as the budget still affords. The first
        iteration tries those of the seed; with ``structural_follow``, the iteration after each
        accepted change those of the new current genome."""
        rng = stream(self.seed, f"structure:{ctx.current.id}")
        out = []
        variants = [(g.replace(parents=(ctx.current.id,), operator=how), how) for g, how in
                    structural_variants(ctx.current, self.suite.split("train"), rng, self.suite.description)]
        replies = (ctx.cur_train or {}).get("replies") if self.config.bootstrap_demos else None
        own = bootstrapped_demos(ctx.current, replies, self.suite.split("train"), rng) if replies else None
        if own is not None:  # first: the prior's slots may not reach the end of the list
            variants.insert(0, (own.replace(parents=(ctx.current.id,)), own.operator))
        variants = [(g, how) for g, how in variants if g.id not in self.tried_genomes][: self.prior]
        room = max(0, ctx.affordable(extra=self.prior) - first_tag)
        for genome, how in variants[:room]:
            self.tried_genomes.add(genome.id)
            out.append(Candidate(tag=f"candidate{first_tag + len(out)}", genome=genome, how=how,
                                 change=how.removeprefix("structure:")))
        return out

    def queued_candidates(self, ctx: ProposalContext, first_tag: int) -> list[Candidate]:
        """The combination queued by the last train step, when the budget affords one more candidate."""
        queued, self.queued = self.queued, []
        out = []
        for genome in queued:
            if genome.id in self.tried_genomes or ctx.affordable(extra=first_tag + len(out) + 1) \
                    <= first_tag + len(out):
                continue
            self.tried_genomes.add(genome.id)
            out.append(Candidate(tag=f"candidate{first_tag + len(out)}", genome=genome, how=genome.operator,
                                 change="the changes that each beat the instruction, together"))
        return out

    def queue_combination(self, base: PromptGenome, valid: list[Candidate], before: float) -> None:
        """Queue the changes of ``base`` made by every candidate that beat it on train (best first)."""
        winners = sorted((c for c in valid if c.train["score"] > before + 1e-12), key=lambda c: -c.train["score"])
        combined = combine_changes(base, [c.genome for c in winners]) if len(winners) > 1 else None
        if combined is not None and combined.id not in self.tried_genomes:
            parent = winners[0].genome.id
            self.queued = [combined.replace(parents=(parent,), operator="structure:combined")]

    def fill_with_fallbacks(self, ctx: ProposalContext, candidates: list[Candidate]) -> None:
        """Give every unusable proposal's slot an edit chosen from the current failure categories."""
        unusable = [c for c in candidates if c.genome is None]
        if not unusable or ctx.cur_train is None:
            return
        train_ids = [e.id for e in self.suite.split("train")]
        edits = fallback_edits(ctx.current, ctx.cur_train.get("failing") or {}, train_ids, self.tried_genomes)
        for cand, (genome, description) in zip(unusable, edits):
            cand.fallback_for, cand.rejected = cand.rejected, None
            cand.genome, cand.how, cand.change = genome, f"fallback: {description}", description
            self.tried_genomes.add(genome.id)
            self.tried.add(stable_hash(genome.instruction.strip()))
            self.proposals["fallbacks"] += 1
