"""The optimizer model's side of a run: ``llm`` (``OptimizerLLM``: budgeted, seeded calls to the model
that writes prompts), ``meta_prompts`` (its versioned templates in ``evo/templates``) and ``fallback``
(feedback-driven edits when its proposal is unusable). Importing this package imports none of them."""
