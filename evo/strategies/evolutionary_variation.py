"""How the evolutionary strategy makes genomes (its variation), apart from how it selects them.

``Variation`` owns what was made (``seen``), the children queued for the next generation (the
combination of generation 0's winning changes, structural neighbours of a new best), the genomes
already expanded, the demo credit, the per-genome feedback its LLM operators read, and the sample
counter. ``initial_population`` builds generation 0 (the seeds, the structural prior, text variants);
``offspring`` a generation's children (queued first, then tournament, crossover and mutation, or fresh
variants of the best after a stall). It draws from the strategy's own generator, in the same order as
before it was its own part.
"""
from __future__ import annotations

import numpy as np

from evo.genome import PromptGenome
from evo.operators.demo_credit import DemoCredit
from evo.operators.demo_order import answer_label
from evo.operators.edits import edit_instruction, phrase_bank
from evo.operators.guard import ProposalGuard
from evo.operators.hyper import crossover_hyper, mutate_hyper, resample_demos
from evo.operators.llm_ops import STYLES, LLMOperators
from evo.operators.structural import bootstrapped_demos, combine_changes, structural_variants
from evo.rng import stream
from evo.strategies import deap_support as D

TEXT_OPERATORS = tuple(STYLES) + ("edit", "demos")


class Variation:
    def __init__(self, config, suite, seed_genome: PromptGenome, optimizer, rng: np.random.Generator, *,
                 extra_seeds: tuple = (), fitness_cls=None, prior: int = 0):
        self.config, self.suite, self.seed_genome, self.rng = config, suite, seed_genome, rng
        self.extra_seeds, self.fitness_cls, self.prior = tuple(extra_seeds), fitness_cls, prior
        self.train_ids = [e.id for e in suite.split("train")]
        self.bank = phrase_bank(suite.description)
        self.ops = LLMOperators(optimizer, task_description=suite.description or suite.name, bank=self.bank,
                                compact=config.compact_prompts, lenient=config.extraction == "lenient",
                                guard=ProposalGuard(suite, seed_instruction=seed_genome.instruction, allowed=self.bank))
        self.seen: set[str] = set()
        self.feedback: dict[str, tuple[str, str]] = {}  # genome id -> (feedback, short): what mutations read
        self.sample_counter = 0
        self.fresh = False  # after a stall: the next generation starts with fresh variants of the best
        # children made before the next generation's operators run: the combination of generation 0's
        # changes that each beat the seed (evo.operators.structural.combine_changes)
        self.queued: list[PromptGenome] = []
        # demo mutations favour demos whose genomes scored well (evo.operators.demo_credit)
        self.credit = DemoCredit({e.id: e.task for e in suite.split("train")},
                                 label_of={e.id: answer_label(e.expected) for e in suite.split("train")})
        self.expanded: set[str] = {seed_genome.id}  # genomes whose structural variants were queued

    def queue_combination(self, generation0: list[D.Individual]) -> None:
        """Queue for generation 1 the seed with every change of generation 0 that beat it on the whole
        training split (best first): e.g. 3 demos and the description, measured apart, tried together."""
        seed = next((i for i in generation0 if i.genome.id == self.seed_genome.id), None)
        if seed is None:
            return
        winners = sorted((i for i in generation0 if i.objectives["quality"] > seed.objectives["quality"] + 1e-12),
                         key=lambda i: (-i.objectives["quality"], i.genome.id))
        combined = combine_changes(self.seed_genome, [i.genome for i in winners])
        if combined is not None and combined.id not in self.seen:
            parents = tuple(i.genome.id for i in winners[:2])
            self.queued.append(combined.replace(parents=parents, operator="structure:combined"))

    def queue_bootstrapped(self, genome: PromptGenome, replies: dict[str, str]) -> None:
        """Queue ``genome`` with 3 demos answered by its own passing replies (``bootstrapped_demos``)
        for the next generation, unless too few examples passed or it was tried."""
        own = bootstrapped_demos(genome, replies, self.suite.split("train"), stream(int(genome.id, 16), "bootstrap"))
        if own is not None and own.id not in self.seen and all(g.id != own.id for g in self.queued):
            self.queued.append(own.replace(parents=(genome.id,)))

    def queue_structural_neighbours(self, best: PromptGenome | None) -> None:
        """Queue the structural variants of a new best genome (not the seed's: generation 0 has them),
        so a settings change that won is tried with the other cheap changes on top of it."""
        if self.config.mode != "scalar" or best is None or not self.prior:
            return
        if best.id in self.expanded:
            return
        self.expanded.add(best.id)
        rng = stream(int(best.id, 16), "structure")
        added = 0
        for genome, how in structural_variants(best, self.suite.split("train"), rng, self.suite.description):
            if added >= self.prior:
                break
            if genome.id in self.seen or any(g.id == genome.id for g in self.queued):
                continue
            self.queued.append(genome.replace(parents=(best.id,), operator=how))
            added += 1

    def next_sample(self) -> int:
        self.sample_counter += 1
        return self.sample_counter

    def feedback_of(self, genome: PromptGenome) -> tuple[str, str]:
        return self.feedback.get(genome.id, ("", ""))

    def text_operator(self, genome: PromptGenome, op: str) -> tuple[PromptGenome, str]:
        if op == "demos":
            return genome.replace(**resample_demos(genome, self.rng, self.config.search_space, self.train_ids, self.credit)), "demos"
        if op == "edit" or not self.config.llm_operators:
            text, kind = edit_instruction(genome.instruction, self.rng, self.bank)
            return genome.replace(instruction=text), f"edit:{kind}"
        fb, short = self.feedback_of(genome)
        text, how = self.ops.mutate(genome.instruction, op, self.rng, self.next_sample(), fb, short)
        return genome.replace(instruction=text), how

    def pick_operator(self) -> str:
        ops = [op for op in TEXT_OPERATORS if self.config.operator_weights.get(op, 0) > 0]
        if not self.config.search_space.max_few_shot:
            ops = [op for op in ops if op != "demos"] or ["edit"]
        w = np.array([self.config.operator_weights.get(op, 0.0) for op in ops], dtype=float)
        return ops[int(self.rng.choice(len(ops), p=w / w.sum()))]

    def initial_population(self, affordable) -> list[D.Individual]:
        out = [D.Individual(self.seed_genome, self.fitness_cls, how="seed")]
        self.seen.add(self.seed_genome.id)
        for genome in self.extra_seeds:
            if genome.id not in self.seen and len(out) < self.config.population_size:
                self.seen.add(genome.id)
                out.append(D.Individual(genome, self.fitness_cls, how="seed"))
        styles = list(STYLES)
        attempts = 0
        if not affordable(0):
            return []
        for genome, how in structural_variants(self.seed_genome, self.suite.split("train"), self.rng,
                                                self.suite.description)[:self.prior]:
            genome = genome.replace(parents=(self.seed_genome.id,), operator=how)
            if genome.id not in self.seen and len(out) < self.config.population_size and affordable(len(out)):
                self.seen.add(genome.id)
                out.append(D.Individual(genome, self.fitness_cls, how=how))
        first_text = len(out)
        while len(out) < self.config.population_size and attempts < self.config.population_size * 5 \
                and affordable(len(out)):
            attempts += 1
            i = len(out) - first_text
            if self.config.llm_operators and i < self.config.init_llm_variants:
                genome, how = self.text_operator(self.seed_genome, styles[i % len(styles)])
            else:
                genome, how = self.text_operator(self.seed_genome, "edit" if i % 3 else "demos")
                if self.rng.random() < 0.5:
                    genome = mutate_hyper(genome, self.rng, self.config.search_space, self.train_ids, credit=self.credit)
                    how += "+hyper"
            genome = genome.replace(parents=(self.seed_genome.id,), operator=how)
            if genome.id not in self.seen:
                self.seen.add(genome.id)
                out.append(D.Individual(genome, self.fitness_cls, how=how))
        return out

    def parent_key(self, population):
        if self.config.mode == "scalar":
            return lambda ind: (ind.fitness.values[0], ind.genome.id)
        ranks = D.pareto_ranks(population)
        return lambda ind: (-ranks.get(ind.genome.id, 99), ind.objectives["quality"], ind.genome.id)

    def parents(self, population, key) -> list[D.Individual]:
        """Two parents: tournament on the aggregate fitness, or (``parent_selection: example_pareto``)
        drawn from the candidates best on some training example, weighted by how many (GEPA)."""
        if self.config.parent_selection == "example_pareto":
            chosen = D.example_pareto_parents(population, 2, self.rng)
            if chosen is not None:
                return chosen
        return D.tournament(population, 2, self.config.tournament_size, self.rng, key)

    def offspring(self, population, affordable) -> list[D.Individual]:
        n = self.config.population_size - self.config.keep
        key = self.parent_key(population)
        children: list[D.Individual] = []
        # queued structural children come first, as many as the generation has slots (the iterative
        # strategy races all of an incumbent's variants at once too); the operators fill the rest
        while self.queued and len(children) < n and affordable(len(children)):
            genome = self.queued.pop(0)
            if genome.id not in self.seen:
                self.seen.add(genome.id)
                children.append(D.Individual(genome, self.fitness_cls, how=genome.operator))
        attempts = 0
        fresh, self.fresh = (n + 1) // 2 if self.fresh else 0, False
        while len(children) < n and attempts < n * 6 and affordable(len(children)):
            attempts += 1
            if len(children) < fresh:  # after a stall: a fresh variant of the best, text and settings
                best = max(population, key=key)
                genome, how = self.text_operator(best.genome, self.pick_operator())
                genome = mutate_hyper(genome, self.rng, self.config.search_space, self.train_ids, credit=self.credit)
                operator = f"fresh:{how}+hyper"
                genome = genome.replace(parents=(best.genome.id,), operator=operator)
                if genome.id not in self.seen:
                    self.seen.add(genome.id)
                    children.append(D.Individual(genome, self.fitness_cls, how=operator))
                continue
            p1, p2 = self.parents(population, key)
            parents = (p1.genome.id,)
            genome, hows = p1.genome, []
            if self.rng.random() < self.config.crossover_prob and p1 != p2:
                if self.config.llm_operators:
                    text, how = self.ops.crossover(p1.genome.instruction, p2.genome.instruction,
                                                   p1.objectives["quality"], p2.objectives["quality"],
                                                   self.rng, self.next_sample())
                else:
                    text, how = p1.genome.instruction if self.rng.random() < 0.5 else p2.genome.instruction, "swap"
                genome = genome.replace(instruction=text, **crossover_hyper(p1.genome, p2.genome, self.rng))
                parents, hows = (p1.genome.id, p2.genome.id), [f"crossover({how})"]
            if self.rng.random() < self.config.mutation_prob:
                genome, how = self.text_operator(genome, self.pick_operator())
                hows.append(how)
            if self.rng.random() < self.config.hyper_mutation_prob:
                genome = mutate_hyper(genome, self.rng, self.config.search_space, self.train_ids, credit=self.credit)
                hows.append("hyper")
            if genome.id in self.seen:
                genome, how = self.text_operator(genome, "edit")  # duplicate: nudge it once
                hows.append(how)
            operator = "+".join(hows) or "clone"
            genome = genome.replace(parents=parents, operator=operator)
            if genome.id in self.seen:
                continue
            self.seen.add(genome.id)
            children.append(D.Individual(genome, self.fitness_cls, how=operator))
        return children
