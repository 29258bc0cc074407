"""``ArmStore``: the router's state in SQL through SQLAlchemy (SQLite file by default, WAL; or any SQL
URL such as PostgreSQL so several router processes share it).

Contract:
- A reward is applied at most once per decision, in one transaction that marks the decision and
  increments the arm's statistics with SQL arithmetic (``n = n + 1``): concurrent rewards from many
  threads or processes lose no update. Unknown decision ids raise ``UnknownDecision``, repeated ones
  ``DuplicateReward``.
- With ``discount < 1`` every arm's statistics decay by that factor before the increment (in the
  same transaction).
- Arms are never deleted: retiring keeps their statistics and decisions for reporting and for the
  reward model. The schema carries a version in ``meta``.
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (Boolean, Column, Float, Integer, MetaData, String, Table, Text, bindparam, create_engine,
                        event, insert, select, update)
from sqlalchemy.exc import IntegrityError

from evo.sqlite_util import enable_wal

SCHEMA_VERSION = 1

metadata = MetaData()
meta_table = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))
arms_table = Table(
    "arms", metadata,
    Column("id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("genome", Text, nullable=False),
    Column("production", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float),
    Column("n", Float, nullable=False, default=0.0),
    Column("s", Float, nullable=False, default=0.0),
    Column("ss", Float, nullable=False, default=0.0),
)
decisions_table = Table(
    "decisions", metadata,
    Column("id", String(64), primary_key=True),
    Column("arm_id", String(64), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("features", Text),
    Column("reward", Float),
    Column("rewarded_at", Float),
)


class StoreError(Exception):
    pass


class UnknownDecision(StoreError):
    pass


class DuplicateReward(StoreError):
    pass


class ArmConflict(StoreError):
    """An arm id that exists with another genome."""


class UnknownArm(StoreError):
    pass


@dataclass(frozen=True)
class ArmRow:
    id: str
    position: int
    label: str
    genome: dict
    production: bool
    active: bool
    n: float
    s: float
    ss: float


def default_store_url(path: str = "results/bandit.sqlite") -> str:
    from pathlib import Path

    p = Path(path).resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{p}"


class ArmStore:
    def __init__(self, url: str):
        self.url = url
        kwargs = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        self.engine = create_engine(url, future=True, **kwargs)
        # Writers in this process queue on a lock instead of on SQLite's busy handler, whose sleeps
        # (up to 100 ms each) dominated tail latency under concurrent requests.
        self._write_lock = threading.Lock()
        # hot-path statements are built once; SQLAlchemy then reuses their compiled form
        self._insert_decision = insert(decisions_table).values(
            id=bindparam("did"), arm_id=bindparam("arm"), created_at=bindparam("ts"), features=bindparam("feat"))
        self._mark_rewarded = (update(decisions_table)
                               .where(decisions_table.c.id == bindparam("did"), decisions_table.c.reward.is_(None))
                               .values(reward=bindparam("val"), rewarded_at=bindparam("ts"))
                               .returning(decisions_table.c.arm_id))
        self._decision_exists = select(decisions_table.c.id).where(decisions_table.c.id == bindparam("did"))
        self._decay = update(arms_table).values(n=arms_table.c.n * bindparam("d"), s=arms_table.c.s * bindparam("d"),
                                                ss=arms_table.c.ss * bindparam("d"))
        self._increment = update(arms_table).where(arms_table.c.id == bindparam("arm")).values(
            n=arms_table.c.n + 1.0, s=arms_table.c.s + bindparam("val"), ss=arms_table.c.ss + bindparam("val2"))
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _):
                enable_wal(dbapi_conn)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                try:
                    conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                except IntegrityError:
                    pass
            elif int(row[0]) != SCHEMA_VERSION:
                raise StoreError(f"{url}: store schema_version {row[0]}, expected {SCHEMA_VERSION}")

    @contextmanager
    def _write(self):
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    # ---- arms ------------------------------------------------------------------------------------
    def add_arm(self, arm_id: str, genome: dict, *, label: str = "", production: bool = False,
                replace: bool = False) -> ArmRow:
        """Add an arm, or re-activate an arm of the same id and genome. The same id with a different
        genome is ``ArmConflict`` unless ``replace``: then the arm takes the new genome and its
        statistics restart from zero (they described another prompt)."""
        with self._write() as conn:
            existing = conn.execute(select(arms_table).where(arms_table.c.id == arm_id)).first()
            if existing is not None:
                same = json.loads(existing.genome) == genome
                if not same and not replace:
                    raise ArmConflict(f"arm {arm_id!r} exists with a different genome; pass replace to swap it")
                values = {"active": True, "retired_at": None}
                if not same:
                    values.update(genome=json.dumps(genome), label=label or existing.label, n=0.0, s=0.0, ss=0.0,
                                  production=production)
                conn.execute(update(arms_table).where(arms_table.c.id == arm_id).values(**values))
                return self.arm(arm_id)
            position = conn.execute(select(arms_table.c.position).order_by(arms_table.c.position.desc())).first()
            conn.execute(insert(arms_table).values(
                id=arm_id, position=(position[0] + 1) if position else 0, label=label, genome=json.dumps(genome),
                production=production, active=True, created_at=time.time(), n=0.0, s=0.0, ss=0.0))
        return self.arm(arm_id)

    def retire_arm(self, arm_id: str) -> None:
        with self._write() as conn:
            result = conn.execute(update(arms_table).where(arms_table.c.id == arm_id)
                                  .values(active=False, retired_at=time.time()))
            if result.rowcount == 0:
                raise UnknownArm(arm_id)

    def arm(self, arm_id: str) -> ArmRow:
        with self.engine.connect() as conn:
            row = conn.execute(select(arms_table).where(arms_table.c.id == arm_id)).first()
        if row is None:
            raise UnknownArm(arm_id)
        return _arm(row)

    def arms(self, include_retired: bool = True) -> list[ArmRow]:
        query = select(arms_table).order_by(arms_table.c.position)
        if not include_retired:
            query = query.where(arms_table.c.active.is_(True))
        with self.engine.connect() as conn:
            return [_arm(r) for r in conn.execute(query)]

    # ---- decisions and rewards ----------------------------------------------------------------------
    def record_decision(self, decision_id: str, arm_id: str, features: dict | None = None) -> None:
        with self._write() as conn:
            conn.execute(self._insert_decision, {"did": decision_id, "arm": arm_id, "ts": time.time(),
                                                 "feat": json.dumps(features) if features is not None else None})

    def apply_reward(self, decision_id: str, value: float, discount: float = 1.0) -> str:
        """Mark the decision rewarded and update its arm's statistics atomically; returns the arm id."""
        with self._write() as conn:
            row = conn.execute(self._mark_rewarded, {"did": decision_id, "val": value, "ts": time.time()}).first()
            if row is None:
                if conn.execute(self._decision_exists, {"did": decision_id}).first() is None:
                    raise UnknownDecision(decision_id)
                raise DuplicateReward(decision_id)
            if discount < 1.0:
                conn.execute(self._decay, {"d": discount})
            conn.execute(self._increment, {"arm": row.arm_id, "val": value, "val2": value * value})
            return row.arm_id

    def decision_counts(self) -> dict:
        with self.engine.connect() as conn:
            rows = conn.execute(select(decisions_table.c.arm_id, decisions_table.c.reward))
            out: dict = {}
            for arm_id, reward in rows:
                d = out.setdefault(arm_id, {"decisions": 0, "rewarded": 0, "reward_sum": 0.0})
                d["decisions"] += 1
                if reward is not None:
                    d["rewarded"] += 1
                    d["reward_sum"] += reward
        return out

    def logs(self, limit: int | None = None) -> list[dict]:
        """Rewarded decisions with their arm's genome and the request features (reward-model data)."""
        query = (select(decisions_table.c.id, decisions_table.c.arm_id, decisions_table.c.features,
                        decisions_table.c.reward, arms_table.c.genome)
                 .join(arms_table, arms_table.c.id == decisions_table.c.arm_id)
                 .where(decisions_table.c.reward.is_not(None)).order_by(decisions_table.c.created_at))
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [{"decision_id": r.id, "arm_id": r.arm_id, "features": json.loads(r.features) if r.features else {},
                     "reward": r.reward, "genome": json.loads(r.genome)} for r in conn.execute(query)]


def _arm(row) -> ArmRow:
    return ArmRow(row.id, row.position, row.label, json.loads(row.genome), bool(row.production), bool(row.active),
                  float(row.n), float(row.s), float(row.ss))
