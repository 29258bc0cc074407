"""Evolutionary search over prompt genomes (text + typed settings) with DEAP structures.

Generation loop, (mu + lambda) with elitism:
- generation 0 evaluates the seed and ``population_size - 1`` diverse variations (the structural
  prior's settings variants, LLM mutations in several styles, phrase edits, hyperparameter and demo
  changes), deduplicated by genome id; generation 1 starts with the seed carrying every change of
  generation 0 that beat it (``combine_changes``: e.g. demos and a description, found apart);
- each later generation breeds ``population_size - keep`` offspring from tournament-selected parents
  (LLM crossover of the texts + per-gene crossover of the settings with ``crossover_prob``; then a
  text operator with ``mutation_prob`` and a settings mutation with ``hyper_mutation_prob``), and the
  best ``keep`` of parents + offspring survive (scalar fitness, or NSGA-II in ``pareto`` mode).
Fitness is measured, never supplied: quality (mean score), latency (mean ms), tokens per example and
robustness (score stability over ``robustness_samples`` samples and, with ``perturbation``, over
lightly perturbed inputs). Stops on target quality, patience, diversity collapse or generations.
Every random draw comes from one numpy Generator seeded from the run seed.
"""
from __future__ import annotations

import numpy as np

from evo.evaluation.feedback import build_feedback
from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome
from evo.operators.structural import passed_replies, prior_size
from evo.optimizer.llm import OptimizerLLM
from evo.rng import generator_state, restore_generator, stream
from evo.strategies import deap_support as D
from evo.strategies.base import EvalRequest, Results, Strategy, check_state
from evo.strategies.evolutionary_config import EvolutionaryConfig, measure_objectives  # noqa: F401 - re-exported
from evo.strategies.evolutionary_variation import Variation
from evo.strategies.racing import Screen, example_scores
from evo.tasks.suite import TaskSuite

STATE_VERSION = 5


class EvolutionaryStrategy(Strategy):
    name = "evolutionary"

    def __init__(self, config: EvolutionaryConfig, suite: TaskSuite, seed_genome: PromptGenome,
                 optimizer: OptimizerLLM, seed: int = 0, extra_seeds: tuple[PromptGenome, ...] = ()):
        self.config = config
        self.suite = suite
        self.rng = stream(seed, "evolution")
        self.population: list[D.Individual] = []
        self.pending: list[D.Individual] = []
        self.hof = D.HallOfFame(config.hall_of_fame)
        self.front = D.ParetoFront()
        self.logbook = D.Logbook()
        self.generation = 0
        self.stall = 0
        self.best_so_far = float("-inf")
        self.max_generations = config.generations
        self.extensions: list[dict] = []
        self.budget = optimizer.budget
        self._last_record: dict = {}
        # screening (evo.strategies.racing): children race on minibatches before a full evaluation; the
        # screen keeps the racing individuals (entrants, by genome id) and the bar individual
        self.screen = Screen(config, self.budget, suite.counts()["train"])
        self.arrived: list[D.Individual] = []  # this generation's fully evaluated newcomers
        # extra seeds (e.g. the production arms) are placed in generation 0 as they are
        fitness_cls = D.ScalarFitness if config.mode == "scalar" else D.pareto_fitness_class(config.objectives)
        self.variation = Variation(config, suite, seed_genome, optimizer, self.rng, extra_seeds=tuple(extra_seeds),
                                   fitness_cls=fitness_cls,
                                   prior=prior_size(config.structural_prior, bool(self.screen.minibatch)))

    # ---- interface -------------------------------------------------------------------------
    def ask(self) -> list[EvalRequest]:
        if self.finished:
            return []
        if self.screen.race is not None:
            return self._race_requests()
        first = not self.population
        self.pending = (self.variation.initial_population(self._affordable) if first
                        else self.variation.offspring(self.population, self._affordable))
        if not self.pending:
            self.stop_reason = "the budget left cannot pay for one more genome's evaluation"
            return []
        if not self.screen.minibatch:
            return [req for ind in self.pending for req in self._requests(ind.genome)]
        # screening: the seeds (generation 0) are evaluated in full and are the bar; children race
        full = [ind for ind in self.pending if ind.how == "seed"] if first else []
        racers = [ind for ind in self.pending if ind not in full]
        bar = full[0] if first else self._bar()
        order = [self.variation.train_ids[i] for i in self.rng.permutation(len(self.variation.train_ids))]
        self.screen.start(order, self.screen.minibatch, [ind.genome.id for ind in racers],
                          bar.genome.id if bar else None, entrants={ind.genome.id: ind for ind in racers},
                          bar_entry=bar)
        self.pending = full
        return [req for ind in full for req in self._requests(ind.genome)] + self._race_requests()

    @property
    def racing_now(self) -> bool:
        """A generation's race is under way (its children are not all measured yet)."""
        return self.screen.race is not None

    def _bar(self) -> D.Individual | None:
        """The member a child must beat on the minibatch to matter: the ``keep``-th best of the
        population (the weakest when it is not full). None in ``pareto`` mode (no single order)."""
        if self.config.mode != "scalar" or not self.population:
            return None
        ranked = sorted(self.population, key=lambda i: (-i.fitness.values[0], i.genome.id))
        return ranked[min(self.config.keep, len(ranked)) - 1]

    def _race_requests(self) -> list[EvalRequest]:
        race, racers, bar = self.screen.race, self.screen.entrants, self.screen.bar_entry
        rung_cost = race.next_rung_cost(len(self.variation.train_ids)) * self.config.robustness_samples
        self.screen.trim(rung_cost + (len(self.variation.train_ids) if race.final and self.config.perturbation else 0))
        if race.final:
            return [req for gid in race.alive for req in self._requests(racers[gid].genome)]
        samples, examples = self.config.robustness_samples, race.examples()
        genomes = [racers[gid].genome for gid in race.alive] + ([bar.genome] if bar else [])
        return [EvalRequest(g, "train", samples, tag="race", examples=examples) for g in genomes]

    def _affordable(self, k: int) -> bool:
        """Whether a (k+1)-th genome of this generation can still be paid for: its evaluation (the first
        rung when screening) and those of the k before it, plus up to two optimizer calls to make it."""
        if self.screen.minibatch:
            cost = self.screen.minibatch * self.config.robustness_samples
        else:
            cost = len(self.variation.train_ids) * self.config.robustness_samples * (2 if self.config.perturbation else 1)
        return self.budget.affords(cost * (k + 1), 2)

    def extend(self) -> bool:
        reason = self.stop_reason or ""
        if not self.config.extend_to_budget or reason.startswith("target quality") or "budget" in reason:
            return False
        if reason.endswith("generations done"):
            self.max_generations += self.config.generations
        else:  # a stall or a diversity collapse: inject fresh variants of the best
            self.stall, self.variation.fresh = 0, True
        self.extensions.append({"generation": self.generation, "stopped": reason})
        self.stop_reason = None
        return True

    def _requests(self, genome: PromptGenome) -> list[EvalRequest]:
        reqs = [EvalRequest(genome, "train", self.config.robustness_samples, tag="fitness")]
        if self.config.perturbation:
            reqs.append(EvalRequest(genome, "train", perturbed=True, tag="robustness"))
        return reqs

    def tell(self, results: Results) -> None:
        by_genome: dict[str, dict[str, EvalBatch]] = {}
        for request, batch in results:
            by_genome.setdefault(request.genome.id, {})[request.tag] = batch
        if self.screen.race is None:
            if not self.pending:
                return
            self._measure(self.pending, by_genome)
            self._finish_generation(self.pending)
            return
        self._measure(self.pending, by_genome)  # the seeds of generation 0, evaluated in full
        self.arrived += self.pending
        self.pending = []
        race, racers, bar = self.screen.race, self.screen.entrants, self.screen.bar_entry
        if race.final:
            finalists = [racers[gid] for gid in race.alive]
            self._measure(finalists, by_genome)
            self.arrived += finalists
            race.update({gid: [racers[gid].objectives["quality"]] for gid in race.alive})
        else:
            examples = race.examples()
            scores = {gid: example_scores(by_genome[gid]["race"], examples) for gid in race.alive}
            if bar is not None:
                scores[bar.genome.id] = example_scores(by_genome[bar.genome.id]["race"], examples)
            race.update(scores)
        if not race.done:
            self._last_record = {"phase": f"gen {self.generation}", "event": f"race rung {race.rung}",
                                 "alive": len(race.alive), "dropped": len(race.dropped)}
            return
        self.screen.finish()
        arrived, self.arrived = self.arrived, []
        self._finish_generation(arrived, screened=len(race.dropped) + len(race.alive))

    def _measure(self, individuals: list[D.Individual], by_genome: dict) -> None:
        for ind in individuals:
            got = by_genome[ind.genome.id]
            batches = [got["fitness"]] + ([got["robustness"]] if "robustness" in got else [])
            ind.objectives = measure_objectives(batches)
            ind.fitness.values = self._fitness_values(ind.objectives)
            ids = list(dict.fromkeys(r.example_id for r in batches[0].records))
            ind.examples = dict(zip(ids, example_scores(batches[0], ids)))
            self.variation.credit.record(ind.genome, ind.objectives["quality"])
            fb = build_feedback(batches[0], max_diffs=5)
            top = fb.categories[0] if fb.categories else None
            short = f"Result: {fb.headline}." + (f" Main problem: {top.root_cause}." if top else "")
            self.variation.feedback[ind.genome.id] = (fb.to_text(), short)
            if self.config.bootstrap_demos and ind.genome.id == self.variation.seed_genome.id:
                self.variation.queue_bootstrapped(ind.genome, passed_replies(batches[0]))

    def _finish_generation(self, newcomers: list[D.Individual], screened: int | None = None) -> None:
        """Selection and bookkeeping once every newcomer of the generation has its full fitness."""
        self.pending = newcomers
        if not self.population and not newcomers:
            raise AssertionError("generation 0 ended without a fully evaluated genome")
        pool = self.population + self.pending
        self.hof.update(self.pending)
        self.front.update(self.pending)
        self.population = self._survivors(pool)
        if self.generation == 0:
            self.variation.queue_combination(self.pending)
        if self.config.structural_follow:
            self.variation.queue_structural_neighbours(self.hof[0].genome if len(self.hof) else None)
        alive = {i.genome.id for i in self.population}
        variation = self.variation
        variation.feedback = {k: v for k, v in variation.feedback.items() if k in alive}  # only parents are mutated
        self._record_generation(len(self.pending), screened)
        self.pending = []
        self.generation += 1
        self._check_stop()

    def best(self) -> PromptGenome:
        if self.config.mode == "pareto" and len(self.front):
            return max(self.front, key=lambda i: (i.objectives["quality"], -i.objectives["tokens"])).genome
        return self.hof[0].genome if len(self.hof) else self.variation.seed_genome

    def selection_score(self) -> float:
        if not len(self.hof):
            return float("-inf")
        if self.config.mode == "pareto":
            return max(i.objectives["quality"] for i in self.front)
        return self.hof[0].fitness.values[0]

    def final_candidates(self) -> list[PromptGenome]:
        """Distinct genomes to compare on validation before choosing the final one."""
        pool = list(self.front) if self.config.mode == "pareto" else list(self.hof)
        pool.sort(key=lambda i: (-i.objectives["quality"], i.objectives["tokens"], i.genome.id))
        out, seen = [], set()
        for ind in pool:
            if ind.genome.id not in seen:
                seen.add(ind.genome.id)
                out.append(ind.genome)
        return out[: self.config.final_candidates] or [self.best()]

    def pareto_front(self) -> list[dict]:
        return [{"id": i.genome.id, "instruction": i.genome.instruction, "genome": i.genome.to_json(), **i.objectives}
                for i in self.front]

    # ---- selection and bookkeeping ------------------------------------------------------------
    def _fitness_values(self, obj: dict) -> tuple:
        if self.config.mode == "pareto":
            return tuple(obj[o] for o in self.config.objectives)
        return (sum(w * obj[k] for k, w in self.config.weights.items()),)

    def _survivors(self, pool: list[D.Individual]) -> list[D.Individual]:
        unique = list({ind.genome.id: ind for ind in pool}.values())
        if self.config.mode == "pareto":
            unique.sort(key=lambda i: i.genome.id)  # NSGA-II is deterministic given the input order
            return D.select_nsga2(unique, min(self.config.keep, len(unique)))
        unique.sort(key=lambda i: (-i.fitness.values[0], i.genome.id))
        return unique[: self.config.keep]

    def diversity(self) -> float:
        texts = {(i.genome.instruction, i.genome.placement, i.genome.few_shot_k) for i in self.population}
        return len(texts) / max(1, len(self.population))

    def _record_generation(self, nevals: int, screened: int | None = None) -> None:
        rec = {"gen": self.generation, "nevals": nevals, "diversity": self.diversity(),
               "best_id": self.best().id, "best_score": self.selection_score(),
               "screened": nevals if screened is None else screened}
        for obj in ("quality", "latency_ms", "tokens", "robustness"):
            values = [i.objectives[obj] for i in self.population]
            rec[f"{obj}_best"] = max(values) if D.DIRECTIONS[obj] > 0 else min(values)
            rec[f"{obj}_mean"] = float(np.mean(values))
            rec[f"{obj}_median"] = float(np.median(values))
        rec["operators"] = [i.how for i in self.pending]
        self.logbook.record(**rec)
        self._last_record = {k: rec[k] for k in ("gen", "nevals", "screened", "diversity", "quality_best", "quality_mean")}
        self._last_record["phase"] = f"gen {self.generation}"

    def _check_stop(self) -> None:
        score = self.selection_score()
        self.stall = 0 if score > self.best_so_far + 1e-12 else self.stall + 1
        self.best_so_far = max(self.best_so_far, score)
        best_quality = max(i.objectives["quality"] for i in self.population)
        if self.config.target_score is not None and best_quality >= self.config.target_score - 1e-12:
            self.stop_reason = f"target quality {self.config.target_score:g} reached"
        elif self.generation >= self.max_generations:
            self.stop_reason = f"{self.max_generations} generations done"
        elif self.stall >= self.config.patience:
            self.stop_reason = f"no improvement for {self.config.patience} generations"
        elif self.generation > 1 and len({i.genome.instruction for i in self.population}) < self.config.min_diversity:
            self.stop_reason = "diversity collapsed"

    def step_record(self) -> dict:
        return dict(self._last_record)

    def report(self) -> dict:
        return {"mode": self.config.mode, "extensions": list(self.extensions), "generations": list(self.logbook),
                "screening": {"minibatch": self.screen.minibatch, "racing": self.config.racing, **self.screen.counters},
                "population": [{"id": i.genome.id, "operator": i.genome.operator, "instruction": i.genome.instruction,
                                "parents": list(i.genome.parents), **i.objectives} for i in self.population],
                "pareto_front": self.pareto_front(),
                "hall_of_fame": [{"genome": i.genome.to_json(), **i.objectives} for i in self.hof]}

    # ---- state ---------------------------------------------------------------------------------
    def _ind_json(self, ind: D.Individual) -> dict:
        return {"genome": ind.genome.to_json(), "objectives": ind.objectives,
                "fitness": list(ind.fitness.values), "how": ind.how,
                **({"examples": ind.examples} if ind.examples else {})}

    def _ind_from(self, data: dict) -> D.Individual:
        ind = D.Individual(PromptGenome.from_json(data["genome"]), self.variation.fitness_cls, dict(data["objectives"]),
                           data["how"])
        if data["fitness"]:  # a racer not measured yet has no fitness
            ind.fitness.values = tuple(data["fitness"])
        ind.examples = {str(k): float(v) for k, v in (data.get("examples") or {}).items()}
        return ind

    def state_dict(self) -> dict:
        return {
            "schema_version": STATE_VERSION, "strategy": self.name, "config": self.config.model_dump(mode="json"),
            "population": [self._ind_json(i) for i in self.population],
            "hof": [self._ind_json(i) for i in self.hof], "front": [self._ind_json(i) for i in self.front],
            "seen": sorted(self.variation.seen), "feedback": self.variation.feedback, "logbook": list(self.logbook),
            "generation": self.generation, "stall": self.stall, "best_so_far": self.best_so_far,
            "max_generations": self.max_generations, "fresh": self.variation.fresh, "extensions": self.extensions,
            "sample_counter": self.variation.sample_counter, "rng": generator_state(self.rng), "stop_reason": self.stop_reason,
            "race": self.screen.state()[0],
            "racers": [self._ind_json(i) for i in self.screen.entrants.values()],
            "bar": self._ind_json(self.screen.bar_entry) if self.screen.bar_entry else None,
            "arrived": [self._ind_json(i) for i in self.arrived], "screening": self.screen.state()[1],
            "demo_credit": self.variation.credit.state_dict(),
            "queued": [g.to_json() for g in self.variation.queued], "expanded": sorted(self.variation.expanded),
        }

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        self.population = [self._ind_from(d) for d in state["population"]]
        self.hof = D.HallOfFame(self.config.hall_of_fame)
        # DEAP puts a newcomer before the members it ties with: insert the saved list worst first so
        # ties keep their saved order (and a resumed run picks the same best)
        self.hof.update([self._ind_from(d) for d in reversed(state["hof"])])
        self.front = D.ParetoFront()
        self.front.update([self._ind_from(d) for d in reversed(state["front"])])
        variation = self.variation
        variation.seen = set(state["seen"])
        variation.feedback = {k: tuple(v) for k, v in state["feedback"].items()}
        self.logbook = D.Logbook()
        for rec in state["logbook"]:
            self.logbook.record(**rec)
        self.generation, self.stall = state["generation"], state["stall"]
        self.best_so_far, variation.sample_counter = state["best_so_far"], state["sample_counter"]
        self.max_generations, variation.fresh = state["max_generations"], state["fresh"]
        self.extensions = list(state["extensions"])
        self.rng = variation.rng = restore_generator(state["rng"])  # one generator, shared
        self.stop_reason = state["stop_reason"]
        self.screen.restore(state["race"], state["screening"])
        self.screen.entrants = {ind.genome.id: ind for ind in map(self._ind_from, state["racers"])}
        self.screen.bar_entry = self._ind_from(state["bar"]) if state["bar"] else None
        self.arrived = [self._ind_from(d) for d in state["arrived"]]
        variation.credit.load_state_dict(state["demo_credit"])
        variation.queued = [PromptGenome.from_json(g) for g in state["queued"]]
        variation.expanded = set(state["expanded"])
