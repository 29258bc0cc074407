"""Prometheus metrics of one router process (``prometheus_client``; one registry per app).

- ``evo_router_requests_total{endpoint, status}`` and ``evo_router_request_seconds{endpoint}``
  (histogram) for every HTTP request;
- ``evo_router_decisions_total{arm}``, ``evo_router_rewards_total{arm}``,
  ``evo_router_reward_sum{arm}``: what this process routed and was told;
- ``evo_router_arm_pulls{arm}``, ``evo_router_arm_cap{arm}``: the store's totals (all processes) and the
  rollout caps, read from the router's last refresh at scrape time;
- ``evo_router_store_errors_total``.
With several worker processes each serves its own counters (scrape each, or sum them).
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

KNOWN_PATHS = ("/route", "/reward", "/arms", "/healthz", "/metrics", "/docs", "/openapi.json")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _ArmCollector:
    def __init__(self, router):
        self.router = router

    def collect(self):
        from bandit.rollout import cap_of

        pulls = GaugeMetricFamily("evo_router_arm_pulls", "rewarded pulls per arm in the store", labels=["arm"])
        caps = GaugeMetricFamily("evo_router_arm_cap", "rollout traffic cap per active arm", labels=["arm"])
        for arm in self.router.arm_rows:
            pulls.add_metric([arm.id], arm.n)
            caps.add_metric([arm.id], cap_of(arm, self.router.rollout) if arm.active else 0.0)
        yield pulls
        yield caps


class RouterMetrics:
    def __init__(self, router):
        self.registry = CollectorRegistry()
        self.requests = Counter("evo_router_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("evo_router_request_seconds", "time to answer a request", ["endpoint"],
                                 buckets=BUCKETS, registry=self.registry)
        self.decisions = Counter("evo_router_decisions", "decisions routed by this process", ["arm"],
                                 registry=self.registry)
        self.rewards = Counter("evo_router_rewards", "rewards recorded by this process", ["arm"], registry=self.registry)
        self.reward_sum = Gauge("evo_router_reward_sum", "sum of rewards recorded by this process", ["arm"],
                                registry=self.registry)
        self.store_errors = Counter("evo_router_store_errors", "store failures answered with 503",
                                    registry=self.registry)
        self.registry.register(_ArmCollector(router))
        self._latency_children: dict[str, object] = {}
        self._request_children: dict[tuple[str, int], object] = {}

    def observe(self, path: str, status: int, seconds: float) -> None:
        endpoint = path if path in KNOWN_PATHS else ("/arms/{arm_id}" if path.startswith("/arms/") else "other")
        child = self._latency_children.get(endpoint)
        if child is None:
            child = self._latency_children[endpoint] = self.latency.labels(endpoint)
        child.observe(seconds)
        key = (endpoint, status)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self.requests.labels(endpoint, str(status))
        counter.inc()

    def decided(self, arm_id: str) -> None:
        self.decisions.labels(arm_id).inc()

    def rewarded(self, arm_id: str, value: float) -> None:
        self.rewards.labels(arm_id).inc()
        self.reward_sum.labels(arm_id).inc(value)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
