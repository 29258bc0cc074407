"""Every config file shipped in configs/ validates (ablation overlays onto their base)."""
from pathlib import Path

import pytest

from experiments.config import load_experiment

ROOT = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.yaml")), ids=lambda p: p.name)
def test_experiment_configs_validate(path):
    assert load_experiment(path).strategies


@pytest.mark.parametrize("path", sorted((ROOT / "ablations").glob("*.yaml")), ids=lambda p: p.name)
def test_ablation_overlays_validate(path):
    cfg = load_experiment(ROOT / "ablation_base.yaml", [path])
    assert cfg.name.startswith("abl-")


@pytest.mark.parametrize("path", sorted((ROOT / "router").glob("*.yaml")), ids=lambda p: p.name)
def test_router_configs_validate(path):
    from bandit.rollout import RolloutConfig
    from evo.config_base import read_mapping

    cfg = RolloutConfig.model_validate(read_mapping(path, "a router config"))
    assert cfg.winner.enabled and cfg.segments.by and cfg.metrics.objective
