"""Test kits and helpers for the bandit package (they need pytest):

- ``PolicyConformance`` (``bandit.testing.policies``): selection among active arms, seeded determinism,
  state round-trip, retired arms never chosen, learning from rewards. Set ``policy_config``.
- ``LocalPostgres`` (``bandit.testing.postgres``): a real PostgreSQL server on 127.0.0.1 from pip.
"""
