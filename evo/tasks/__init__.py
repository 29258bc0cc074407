"""Tasks and evals: examples, suites, checks, loaders."""
