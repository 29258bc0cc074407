"""Test kits shipped with evo (they need pytest): subclass one in your test suite and fill in its hook.

- ``StrategyConformance`` (``evo.testing.strategies``): budget respected, inputs never mutated, state
  round-trip mid-run, same seed -> same trajectory, failed evaluations tolerated. Set
  ``strategy_config`` (the strategy's run-config mapping; its kind must be registered).
- ``BackendConformance`` (``evo.testing.backends``): fingerprint stability, response and usage
  fields, concurrency, errors mapped to retryable / non-retryable. Implement ``make_backend()``
  (and ``make_failing_backend(kind)`` to test error mapping).
- ``CheckConformance`` (``evo.testing.checks``): never raises on hostile outputs, score in [0, 1],
  ``passed`` agrees with the score, failures carry a category and a message, deterministic, picklable.
  Set ``check_config``, ``passing`` and ``failing``.
- ``PolicyConformance`` lives with the bandit package: ``bandit.testing.policies``.

``evo.testing.toys`` holds the toy task and scripted models they run on. Example::

    from evo.testing.strategies import StrategyConformance

    class TestMyStrategy(StrategyConformance):
        strategy_config = {"kind": "my_strategy", "samples": 4}
"""
