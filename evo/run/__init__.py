"""One run of a strategy on a suite, start to finish, in the order it happens:

``spec`` (the user's run config) -> ``resolve`` (every default applied: the ``ResolvedRun`` that is logged
and replayed) -> ``session`` (backends, caches, evaluator pool, strategy: the parts of a run) -> ``loop``
(ask, evaluate, tell, budget, checkpoints: ``RunLoop`` and ``RunResult``) -> ``execute`` (a run directory
owned and resumable, tracking, the final scoring), with ``run_dir`` (the files of a run on disk).
Importing this package imports none of them.
"""
