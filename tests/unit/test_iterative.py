"""Every rule of the iterative strategy, with scripted task and optimizer models."""
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.optimizer.llm import OptimizerLLM, extract_instruction, extract_tagged
from evo.run.loop import OptimizationRun
from evo.strategies.iterative import IterativeConfig, IterativeStrategy
from evo.tasks.suite import TaskSuite
from tests.helpers import arithmetic_suite, keyword_task_model, scripted_optimizer, tagged


def make_run(replies, seed_instruction="Solve.", budget=None, suite=None, **cfg):
    suite = suite or arithmetic_suite()
    budget = budget or Budget(BudgetConfig(max_calls=10_000))
    opt_backend = scripted_optimizer(replies)
    optimizer = OptimizerLLM(opt_backend, budget, seed=0)
    seed = PromptGenome(instruction=seed_instruction, max_tokens=8)
    cfg.setdefault("structural_prior", 0)  # the rules below are about the optimizer's candidates
    cfg.setdefault("minibatch", 0)  # ... judged on the whole split (screening has its own tests)
    strategy = IterativeStrategy(IterativeConfig(**cfg), suite, seed, optimizer)
    evaluator = Evaluator(keyword_task_model(), suite, workers=1)
    return OptimizationRun(strategy, evaluator, budget, seed), strategy, opt_backend, suite


def test_improves_from_feedback_and_reports_before_after():
    run, strategy, _, _ = make_run([tagged("Compute the sum."), tagged("Compute it. Give the number only.")],
                                   n_candidates=1)
    result = run.run()
    assert result.before["train"]["pass_rate"] == 0.0
    assert result.after["train"]["pass_rate"] == 1.0 and result.after["test"]["pass_rate"] == 1.0
    assert result.best_genome.instruction == "Compute it. Give the number only."
    assert result.best_genome.parents and result.best_genome.operator == "iterative"
    assert strategy.stop_reason.startswith("100% on") or "validation" in strategy.stop_reason


def test_best_of_candidates_is_chosen():
    run, strategy, _, _ = make_run([tagged("Hello."), tagged("Give the number only."), tagged("Compute.")],
                                   n_candidates=3, max_train_iterations=1, max_val_iterations=0)
    run.run()
    it = strategy.report()["iterations"][0]
    assert it["accepted"] and strategy.best().instruction == "Give the number only."
    assert [c["rejected"] for c in it["candidates"]] == ["not the best candidate", None, "not the best candidate"]


def test_strict_improvement_required_below_ten_percent():
    # current pass rate 0% ("Solve."): a candidate scoring 0% too is a lateral move -> rejected
    run, strategy, _, _ = make_run([tagged("Compute the sum.")], n_candidates=1, max_train_iterations=1,
                                   max_val_iterations=0)
    run.run()
    it = strategy.report()["iterations"][0]
    assert not it["accepted"] and "strict improvement" in it["candidates"][0]["rejected"]
    assert strategy.best().instruction == "Solve."


def test_lateral_moves_allowed_from_ten_percent():
    # "odd only" + "number only" passes odd results only (> 10%); an equal-scoring rewrite is accepted
    run, strategy, _, _ = make_run([tagged("Number only, odd only, please.")], n_candidates=1,
                                   seed_instruction="Give the number only, odd only.",
                                   max_train_iterations=1, max_val_iterations=0)
    run.run()
    it = strategy.report()["iterations"][0]
    assert 0.1 <= it["score_before"] == it["score_after"] < 1.0
    assert it["accepted"] and strategy.best().instruction == "Number only, odd only, please."


def test_memory_lessons_and_window_of_three():
    replies = [tagged("Compute A.", change="asked to compute"),  # 0 -> 0: rejected (strict)
               tagged("Give the number only, odd only.", change="demanded bare numbers"),  # improves
               tagged("Hello there.", change="made it friendly"),  # regression
               tagged("Hello again.", change="friendly again"),
               tagged("Hello thrice.", change="friendly thrice")]
    run, strategy, opt, _ = make_run(replies, n_candidates=1, max_train_iterations=5, plateau=10,
                                     max_val_iterations=0)
    run.run()
    from evo.strategies.memory import OptimizationMemory
    mem = OptimizationMemory.from_state(strategy.state_dict()["memory"])  # through the state contract
    assert len(mem.recent) == 3 and [r["iteration"] for r in mem.recent] == [3, 4, 5]
    assert any(l.startswith("+ demanded bare numbers -> improved 0.00 ->") for l in mem.lessons)
    assert any(l.startswith("- made it friendly -> regression") for l in mem.lessons)
    last_prompt = opt.requests[-1].messages[-1][1]
    assert "Lessons so far:" in last_prompt and "+ demanded bare numbers" in last_prompt
    assert "#2 [train] change: demanded bare numbers" in last_prompt and "#1 [train]" not in last_prompt


def test_memory_off_ablation():
    run, strategy, opt, _ = make_run([tagged("Compute A."), tagged("Compute B.")], n_candidates=1,
                                     max_train_iterations=2, max_val_iterations=0, memory=False)
    run.run()
    assert "(memory disabled)" in opt.requests[-1].messages[-1][1]


def test_validation_rejects_candidates_that_break_training_and_combines_feedback():
    # seed passes odd results only; train phase skipped; validation starts at ~50%
    replies = [tagged("Compute the sum."),        # breaks the (odd) training cases the seed passes
               tagged("Give the number only.")]   # fixes everything
    run, strategy, opt, suite = make_run(replies, seed_instruction="Give the number only, odd only.",
                                         n_candidates=1, max_train_iterations=0, max_val_iterations=3, plateau=5)
    result = run.run()
    val_its = [r for r in strategy.report()["iterations"] if r["phase"] == "validation"]
    assert val_its[0]["candidates"][0]["rejected"].startswith("breaks ")
    assert "broke these training cases" not in opt.requests[0].messages[-1][1]
    combined = opt.requests[1].messages[-1][1]
    assert "broke these training cases" in combined
    assert "On held-out validation data (aggregate patterns only)" in combined
    task = suite.task("add")
    odd_train = [ex for ex in suite.split("train") if int(ex.expected) % 2 == 1]
    assert f"input: '{task.render_input(odd_train[0])}'" in combined
    assert val_its[1]["accepted"] and result.after["val"]["pass_rate"] == 1.0


def test_no_test_or_val_example_reaches_the_optimizer():
    replies = [tagged("Compute the sum."), tagged("Give the number only."), tagged("Give the number only!"),
               tagged("Number only, odd only."), tagged("Give just the number only.")]
    run, strategy, opt, suite = make_run(replies, n_candidates=2, max_train_iterations=3, max_val_iterations=3,
                                         plateau=5)
    run.run()
    task = suite.task("add")
    sent = "\n".join(r.system + "\n" + "\n".join(c for _, c in r.messages) for r in opt.requests)
    assert opt.requests
    train_inputs = {task.render_input(ex) for ex in suite.split("train")}
    for ex in suite.split("test", "val"):
        text = task.render_input(ex)
        if text in train_inputs:  # same expression also in train: not a leak
            continue
        assert text not in sent, f"{ex.split} example {ex.id} leaked to the optimizer"
        assert ex.id not in sent


def test_unusable_proposals_are_rejected_with_reasons_and_run_continues():
    replies = ["no tags at all", "<prompt>   </prompt>", "<prompt>Solve.</prompt>", "<prompt>Give the num",
               tagged("Compute X."), tagged("Compute X."), tagged("Give the number only.")]
    run, strategy, _, _ = make_run(replies, n_candidates=3, max_train_iterations=3, plateau=5, max_val_iterations=0,
                                   fallback=False)  # the reasons themselves (fallback edits: test_guard, test_fallback_edits)
    result = run.run()
    reasons = [c["rejected"] for it in strategy.report()["iterations"] for c in it["candidates"]]
    assert reasons[:4] == ["no <prompt> tag", "empty", "unchanged", "unclosed tag"]
    assert "duplicate" in reasons
    assert result.best_genome.instruction == "Give the number only."


def test_truncated_and_lenient_extraction():
    assert extract_tagged("<prompt>abc", "prompt", "length") == (None, "truncated")
    assert extract_instruction('Try this: "Answer with the number only."', "stop", lenient=True) == (
        "Answer with the number only.", "quoted")
    assert extract_instruction('Try this: "Answer with the number only."', "stop", lenient=False)[0] is None


def test_optimizer_errors_are_recorded():
    from evo.errors import BackendError
    suite = arithmetic_suite()
    budget = Budget(BudgetConfig(max_calls=10_000))

    def boom(request):
        raise BackendError("HTTP 529: overloaded", retryable=True)
    from evo.llm.scripted import ScriptedBackend
    strategy = IterativeStrategy(IterativeConfig(n_candidates=2, max_train_iterations=2, max_val_iterations=0,
                                                 fallback=False, structural_prior=0),
                                 suite, PromptGenome(instruction="Solve."), OptimizerLLM(ScriptedBackend(boom), budget))
    result = OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, strategy.best()).run()
    assert strategy.report()["iterations"][0]["candidates"][0]["rejected"] == "optimizer error: HTTP 529: overloaded"
    assert result.budget["usage"]["optimizer"]["calls"] == 4


@pytest.mark.parametrize("limit,field", [(3, "max_optimizer_calls"), (25, "max_task_calls"), (2, "max_steps")])
def test_budget_stops(limit, field):
    budget = Budget(BudgetConfig(**{field: limit}))
    run, strategy, _, _ = make_run([tagged(f"Compute {i}.") for i in range(50)], budget=budget, n_candidates=2,
                                   max_train_iterations=20, plateau=20)
    result = run.run()
    usage = result.budget["usage"]
    if field == "max_task_calls":
        task_model_calls = usage["task"]["calls"] + usage["monitor"]["calls"]  # monitoring is charged too
        assert task_model_calls <= limit and "budget" in result.stop_reason
        assert task_model_calls > limit - 10  # only less than one candidate's evaluation is left
    elif field == "max_optimizer_calls":
        assert "optimizer call budget" in result.stop_reason and usage["optimizer"]["calls"] <= limit + 1
    else:
        assert len(result.steps) == limit


def test_state_round_trip_continues_identically():
    replies = [tagged(f"Compute {i}.", change=f"c{i}") for i in range(3)] + [tagged("Give the number only.")] * 3
    full_run, full, _, _ = make_run(replies, n_candidates=1, max_train_iterations=4, plateau=9, max_val_iterations=0)
    full_result = full_run.run()

    half_run, half, _, _ = make_run(replies, n_candidates=1, max_train_iterations=4, plateau=9, max_val_iterations=0,
                                    budget=Budget(BudgetConfig(max_steps=3)))
    half_run.run()
    state = half.state_dict()
    import json
    state = json.loads(json.dumps(state))
    resumed_run, resumed, _, _ = make_run(replies[2:], n_candidates=1, max_train_iterations=4, plateau=9,
                                          max_val_iterations=0)
    resumed.load_state_dict(state)
    result = resumed_run.run()
    assert result.best_genome.id == full_result.best_genome.id
    assert [r["current_id"] for r in resumed.report()["iterations"]] == [r["current_id"] for r in full.report()["iterations"]]


def test_validation_restarts_from_seed_when_train_winner_does_not_generalize():
    from evo.llm.scripted import ScriptedBackend  # noqa: F401
    from evo.tasks.suite import Example, TaskSuite
    base = arithmetic_suite()
    pairs = {"train": [(1, 1), (1, 2), (2, 3), (1, 4), (3, 3), (2, 2)], "val": [(4, 5), (3, 6), (5, 4), (4, 4)],
             "test": [(5, 6), (2, 1)]}
    examples = tuple(Example(f"{s}{i}", "add", {"a": a, "b": b}, str(a + b), s)
                     for s, ps in pairs.items() for i, (a, b) in enumerate(ps))
    suite = TaskSuite("add", base.tasks, examples, base.description)
    budget = Budget(BudgetConfig(max_calls=1000))
    seed = PromptGenome(instruction="Give the number only, odd only.")
    optimizer = OptimizerLLM(scripted_optimizer([tagged("Give the number only, small only.")]), budget)
    strategy = IterativeStrategy(IterativeConfig(n_candidates=1, max_train_iterations=1, max_val_iterations=1,
                                                 structural_prior=0), suite, seed, optimizer)
    result = OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, seed).run()
    assert strategy.report()["iterations"][0]["accepted"]  # the overfit prompt won on train (100% vs odd-only)
    baseline = next(s["detail"] for s in result.steps
                    if s["detail"].get("event") == "baseline" and s["detail"]["phase"] == "validation")
    assert baseline["restarted_from_seed"] is True
    assert result.best_genome.instruction == "Give the number only, odd only."
    assert result.after["val"]["pass_rate"] > 0


def test_val_monitoring_is_logged_uncharged_and_hidden_from_the_strategy():
    run, strategy, _, suite = make_run([tagged("Give the number only.")], n_candidates=1, max_train_iterations=1,
                                       max_val_iterations=0)
    seen_splits = []
    original = strategy.tell
    strategy.tell = lambda results: (seen_splits.extend(r.split for r, _ in results), original(results))[1]
    result = run.run()
    assert all(s["best_val_score"] is not None for s in result.steps)
    assert set(seen_splits) == {"train"}  # val batches were never handed to the strategy
    n_val = suite.counts()["val"]
    assert result.budget["monitor_val_calls"] == 2 * n_val  # seed and the accepted rewrite, once each
    assert result.budget["usage"]["task"]["calls"] == 2 * suite.counts()["train"]  # monitoring not charged


def test_first_iteration_also_tries_the_structural_prior():
    run, strategy, _, _ = make_run([tagged("Hello.")], n_candidates=1, max_train_iterations=1, max_val_iterations=0,
                                   structural_prior=2)
    run.run()
    cands = strategy.report()["iterations"][0]["candidates"]
    assert [c["extracted_by"] for c in cands] == ["tag", "structure:demos3", "structure:description"]
    assert all(c["train"] is not None for c in cands)  # every one evaluated
    plain = arithmetic_suite()
    plain = TaskSuite(plain.name, plain.tasks, plain.examples, "")  # no description: no candidate beats the seed
    run, strategy, _, _ = make_run([tagged("Hello."), tagged("Hi.")], n_candidates=1, max_train_iterations=2,
                                   max_val_iterations=0, structural_prior=2, plateau=5, suite=plain)
    run.run()
    assert len(strategy.report()["iterations"][1]["candidates"]) == 1  # the first iteration only
