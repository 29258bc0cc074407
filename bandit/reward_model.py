"""Reward model trained on the router's logs (scikit-learn; arm genome x request features -> reward).

Features: the genome's settings (temperature, max_tokens, chain-of-thought, few-shot k, placement)
and text (length, sentences, hashed word unigrams and bigrams of the instruction), plus the request
features (numbers as values, other values hashed as ``key=value``). Binary rewards train a logistic
regression, continuous ones a ridge regression. ``train`` holds out a seeded 20% of the logs and
reports held-out quality next to a constant (mean-reward) baseline. The model is saved as JSON
(coefficients + feature settings, with a schema version), never as a pickle.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from evo.extras import require

require("sklearn", "the reward model")
from sklearn.feature_extraction import FeatureHasher  # noqa: E402 - after the one-line check above
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score  # noqa: E402

from evo.genome import PromptGenome

SCHEMA_VERSION = 1
N_HASH = 256
_WORD = re.compile(r"[a-z0-9']+")


def genome_features(genome: PromptGenome) -> dict:
    words = _WORD.findall(genome.instruction.lower())
    feats = {
        "temperature": genome.temperature, "max_tokens_log": math.log(genome.max_tokens),
        "cot": float(genome.chain_of_thought), "few_shot_k": float(genome.few_shot_k),
        "placement=system": float(genome.placement == "system"), "instr_chars_log": math.log1p(len(genome.instruction)),
        "instr_sentences": float(len(re.findall(r"[.!?]", genome.instruction))), "has_system": float(bool(genome.system)),
    }
    for w in words:
        feats[f"w={w}"] = 1.0
    for a, b in zip(words, words[1:]):
        feats[f"b={a}_{b}"] = 1.0
    return feats


def request_features(features: dict) -> dict:
    out = {}
    for k, v in (features or {}).items():
        if isinstance(v, bool):
            out[f"r:{k}"] = float(v)
        elif isinstance(v, (int, float)) and math.isfinite(v):
            out[f"r:{k}"] = float(v)
        else:
            out[f"r:{k}={str(v)[:40]}"] = 1.0
    return out


@dataclass
class RewardModel:
    kind: str  # "logistic" | "ridge"
    coef: np.ndarray
    intercept: float
    quality: dict

    _hasher = FeatureHasher(n_features=N_HASH, input_type="dict", alternate_sign=False)

    @classmethod
    def featurize(cls, rows: list[dict]):
        return cls._hasher.transform(rows)

    def predict_rows(self, rows: list[dict]) -> np.ndarray:
        z = self.featurize(rows) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z)) if self.kind == "logistic" else np.asarray(z)

    def predict_genome(self, genome: PromptGenome, features: dict | None = None) -> float:
        return float(self.predict_rows([{**genome_features(genome), **request_features(features or {})}])[0])

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"schema_version": SCHEMA_VERSION, "kind": self.kind, "n_hash": N_HASH,
                                          "coef": self.coef.tolist(), "intercept": self.intercept,
                                          "quality": self.quality}, indent=2))

    @classmethod
    def load(cls, path: Path) -> "RewardModel":
        data = json.loads(Path(path).read_text())
        if data.get("schema_version") != SCHEMA_VERSION or data.get("n_hash") != N_HASH:
            raise ValueError(f"{path}: unsupported reward-model file")
        return cls(data["kind"], np.array(data["coef"]), float(data["intercept"]), data["quality"])


def train(logs: list[dict], seed: int = 0, holdout: float = 0.2) -> RewardModel:
    """Fit on router logs (``ArmStore.logs()``); needs at least 20 rewarded decisions."""
    if len(logs) < 20:
        raise ValueError(f"need at least 20 rewarded decisions to train a reward model, have {len(logs)}")
    rows = [{**genome_features(PromptGenome.from_json(r["genome"])), **request_features(r["features"])} for r in logs]
    y = np.array([r["reward"] for r in logs], dtype=float)
    X = RewardModel.featurize(rows)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = max(5, int(len(y) * holdout))
    test, fit = order[:n_test], order[n_test:]
    binary = set(np.unique(y)) <= {0.0, 1.0}
    if binary and len(set(y[fit])) < 2:
        raise ValueError("all training rewards are equal: nothing to learn yet")
    if binary:
        est = LogisticRegression(C=1.0, max_iter=2000).fit(X[fit], y[fit])
        p = est.predict_proba(X[test])[:, 1]
        base = np.full_like(p, y[fit].mean())
        quality = {"metric": "brier", "heldout": float(brier_score_loss(y[test], p)),
                   "baseline": float(brier_score_loss(y[test], base)), "n_train": int(fit.size), "n_test": int(test.size)}
        if len(set(y[test])) == 2:
            quality["auc"] = float(roc_auc_score(y[test], p))
        model = RewardModel("logistic", est.coef_[0].copy(), float(est.intercept_[0]), quality)
    else:
        est = Ridge(alpha=1.0).fit(X[fit], y[fit])
        p = est.predict(X[test])
        quality = {"metric": "mae", "heldout": float(mean_absolute_error(y[test], p)),
                   "baseline": float(mean_absolute_error(y[test], np.full_like(p, y[fit].mean()))),
                   "n_train": int(fit.size), "n_test": int(test.size)}
        model = RewardModel("ridge", np.asarray(est.coef_).copy(), float(est.intercept_), quality)
    final = (LogisticRegression(C=1.0, max_iter=2000) if binary else Ridge(alpha=1.0)).fit(X, y)
    model.coef = np.asarray(final.coef_).reshape(-1).copy()
    model.intercept = float(np.asarray(final.intercept_).reshape(-1)[0])
    return model
