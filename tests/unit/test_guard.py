"""Optimizer proposals that copy the optimizer's own input, or leak held-out answers, are never evaluated."""
import re

import numpy as np

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.scripted import ScriptedBackend
from evo.operators.guard import ProposalGuard
from evo.operators.llm_ops import LLMOperators
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.strategies.iterative import IterativeConfig, IterativeStrategy
from evo.tasks.checks import NumericCheck
from evo.tasks.suite import Example, Task, TaskSuite
from tests.helpers import arithmetic_suite, keyword_task_model, tagged


def echo_feedback_optimizer():
    """Replies with the root-cause sentence of the feedback it was shown: a copy, not a prompt."""
    def respond(request):
        text = request.system + "\n" + request.messages[-1][1]
        cause = re.search(r"likely cause: (.*?);", text) or re.search(r"Most failures are \w+ \(\d+\): (.*?);", text)
        return tagged(cause.group(1).capitalize() + ".") if cause else tagged("Give the number only.")
    return ScriptedBackend(respond, name="echo-feedback")


def test_iterative_rejects_a_proposal_that_copies_its_feedback():
    suite = arithmetic_suite()
    budget = Budget(BudgetConfig(max_calls=2000))
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    strategy = IterativeStrategy(IterativeConfig(n_candidates=2, max_train_iterations=2, max_val_iterations=0,
                                                 fallback=False, structural_prior=0),
                                 suite, seed, OptimizerLLM(echo_feedback_optimizer(), budget))
    result = OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, seed).run()
    candidates = [c for it in result.strategy_report["iterations"] for c in it["candidates"]]
    copied = [c for c in candidates if c["rejected"] and c["rejected"].startswith("copies the optimizer's input")]
    assert copied, candidates
    assert all(c["train"] is None for c in copied)  # never evaluated
    assert result.best_genome.instruction == "Solve."  # the feedback sentence did not become the prompt


def test_iterative_fallback_tests_a_real_edit_in_the_copied_proposals_slot():
    suite = arithmetic_suite()
    budget = Budget(BudgetConfig(max_calls=2000))
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    strategy = IterativeStrategy(IterativeConfig(n_candidates=2, max_train_iterations=2, max_val_iterations=0,
                                                 minibatch=0),
                                 suite, seed, OptimizerLLM(echo_feedback_optimizer(), budget))
    result = OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, seed).run()
    candidates = [c for it in result.strategy_report["iterations"] for c in it["candidates"]]
    replaced = [c for c in candidates if (c["fallback_for"] or "").startswith("copies the optimizer's input")]
    assert replaced and all(c["train"] is not None and c["extracted_by"].startswith("fallback:") for c in replaced)
    proposals = result.strategy_report["optimizer_proposals"]
    assert proposals["usable"] < proposals["total"] and proposals["fallbacks"] == len(replaced)
    assert "likely cause" not in result.best_genome.instruction and "fix:" not in result.best_genome.instruction


def test_evolutionary_operators_fall_back_instead_of_using_a_copy():
    suite = arithmetic_suite()
    budget = Budget(BudgetConfig(max_calls=100))
    guard = ProposalGuard(suite, seed_instruction="Solve.")
    ops = LLMOperators(OptimizerLLM(echo_feedback_optimizer(), budget), task_description=suite.description,
                       bank=("Be brief.",), compact=False, lenient=True, guard=guard)
    feedback = "3/10 passed\n  format_violation (7):\n    likely cause: the output does not have the required format; fix: x"
    text, how = ops.mutate("Solve.", "feedback", np.random.default_rng(0), 1, feedback, "")
    assert how.startswith("fallback(copy):") and "required format" not in text


def leak_suite() -> TaskSuite:
    task = Task("capital", "{country}", (NumericCheck(),))
    rows = [("France", "Paris", "train"), ("Italy", "Rome", "train"), ("Kenya", "Nairobi", "val"),
            ("Peru", "Lima", "test"), ("Spain", "Madrid", "test")]
    return TaskSuite("caps", (task,), tuple(Example(f"e{i}", "capital", {"country": c}, a, s)
                                            for i, (c, a, s) in enumerate(rows)), "Name the capital city.")


def test_held_out_answers_and_copies_are_named():
    guard = ProposalGuard(leak_suite(), seed_instruction="Name the capital.")
    assert guard.check("Name the capital. For Kenya it is Nairobi.", shown="") == \
        "contains a held-out answer verbatim ('nairobi')"
    assert guard.check("Answer Paris or Rome style: one word.", shown="") is None  # training answers are fine
    shown = "Feedback: 2/3 passed. likely cause: the model declined the task; fix: state plainly what to output"
    assert guard.check("The model declined the task.", shown=shown).startswith("copies")
    assert guard.check("State plainly what to output: the city name only.", shown=shown) is None  # a fix, used
    assert guard.check("Name the capital city in one word.", shown=shown + " Task: Name the capital city.") is None


def _guard():
    suite = TaskSuite("s", (Task("t", "{question}", (NumericCheck(),)),),
                      tuple(Example(f"e{i}", "t", {"question": f"What is {i} plus {i}?"}, str(2 * i), "train")
                            for i in range(5)), "Add the two numbers.")
    return ProposalGuard(suite, seed_instruction="Answer the question.")


def test_a_fragment_of_a_training_example_is_no_instruction():
    guard = _guard()
    assert guard.check("What is 3 plus", shown="") == "a fragment of a training example, not an instruction"
    assert guard.check("Add the two numbers.", shown="") is None  # the task description may be reused
    assert guard.check("Give the sum only.", shown="") is None


def test_meta_instructions_and_category_names_are_rejected():
    guard = _guard()
    assert guard.check("Write a more precise instruction that addresses the requested format_violation.",
                       shown="").startswith("a meta-instruction")
    assert guard.check("Avoid any format_violation: output digits.", shown="").startswith("names the feedback's")
    assert guard.check("Rewrite the prompt so it is clearer.", shown="").startswith("a meta-instruction")
    # an instruction that merely mentions instructions is fine
    assert guard.check("Follow the format of the examples and write only the number.", shown="") is None
    # already in the current instruction: not the proposal's doing
    assert guard.check("Write the instruction's answer as a number.", shown="",
                       current="Write the instruction's answer as a number. Be brief.") is None


def test_an_instruction_that_mentions_the_prompt_is_not_meta():
    guard = _guard()
    assert guard.check("Write only the number following the prompt.", shown="") is None
    assert guard.check("Improve the instruction.", shown="").startswith("a meta-instruction")
