"""``ArmStore``: the router's state in SQL through SQLAlchemy (SQLite file by default, WAL with
``synchronous=FULL``; or any SQL URL such as ``postgresql://`` so several router processes share it).

Contract:
- Decisions and rewards go through group commit (``bandit.group_commit``): ``submit_decision`` and
  ``submit_reward`` return futures that resolve only after the transaction holding the write has
  committed. Many concurrent writes share one transaction (one fsync); an acknowledged reward is
  never lost.
- A reward is applied at most once per decision: the decision is marked with a conditional UPDATE
  and the arm's statistics are incremented with SQL arithmetic (``n = n + ...``) in the same
  transaction, so concurrent rewards from many threads or processes lose no update. Unknown decision
  ids are refused with ``UnknownDecision``, repeated ones with ``DuplicateReward`` (nothing written).
- With ``discount < 1`` every arm's statistics decay by that factor before each reward's increment
  (in the same transaction; a batch of k rewards applies the same arithmetic in one pass).
- Arms are never deleted: retiring keeps their statistics and decisions for reporting and for the
  reward model. Every change to an arm (added, replaced, retired, rollout stage, rollback) is a row
  in ``events``. The schema carries a version in ``meta``; older stores are migrated in place (v2:
  rollout columns; v3: each decision's ``propensity``, the probability with which its arm was chosen,
  NULL for decisions logged before; v4: each decision's ``segment``; v5: ``episode_id`` and
  ``holdout``).
- Declared metrics (``bandit.declared_metrics``): ``submit_feedback`` records a metric's value for a
  decision or an episode at most once per metric (``DuplicateFeedback``), adds it to the
  ``metric_stats`` of each decision's arm, and, for the routing objective, rewards each decision not
  rewarded yet, all in one transaction.
- Segments (``bandit.segments``): a decision may carry a segment key; its reward also adds to the
  ``segment_stats`` row of (arm, segment), in the same transaction and with the same decay, so every
  router sharing the store reads the same per-segment statistics.
"""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import (Boolean, Column, Float, Integer, MetaData, String, Table, Text, bindparam, create_engine,
                        event, func, insert, inspect, select, text, update)
from sqlalchemy.exc import IntegrityError

from bandit.group_commit import GroupCommitter
from bandit.policies import discounted_updates
from evo.sqlite_util import enable_wal

SCHEMA_VERSION = 5
FULL_STAGE = 99  # an arm past every rollout stage (arms from a version-1 store, which served at once)

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
    Column("context", Text),  # JSON render context (task templates, few-shot demos); see bandit.prompt
    Column("stage", Integer, nullable=False, default=0),  # rollout stage index; -1 = rolled back
    Column("stage_since", Float),
    Column("stage_pulls", Float, nullable=False, default=0.0),  # the arm's n when the stage began
)
decisions_table = Table(
    "decisions", metadata,
    Column("id", String(64), primary_key=True),
    Column("arm_id", String(64), nullable=False, index=True),
    Column("created_at", Float, nullable=False, index=True),
    Column("features", Text),
    Column("reward", Float),
    Column("rewarded_at", Float),
    Column("propensity", Float),  # P(this arm | the policy and caps at decision time); off-policy evaluation
    Column("segment", String(200)),  # the request's segment key (bandit.segments), or NULL
    Column("episode_id", String(128), index=True),  # groups decisions for episode-level metrics
    Column("holdout", Boolean),  # served production as the control share (lift measurement)
)
def _stats_table(name: str, key: str, key_length: int) -> Table:
    """Sufficient statistics (n, s, ss) per (arm, ``key``)."""
    return Table(name, metadata, Column("arm_id", String(64), primary_key=True),
                 Column(key, String(key_length), primary_key=True), Column("n", Float, nullable=False, default=0.0),
                 Column("s", Float, nullable=False, default=0.0), Column("ss", Float, nullable=False, default=0.0))


metric_stats_table = _stats_table("metric_stats", "metric", 40)
feedback_table = Table(  # one value per (decision or episode, metric): "d:<decision id>" / "e:<episode id>"
    "feedback", metadata,
    Column("target", String(140), primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("ts", Float, nullable=False),
)
segment_stats_table = _stats_table("segment_stats", "segment", 200)
assignments_table = Table(  # sticky subjects: the arm a subject keeps until expires_at (bandit.router)
    "assignments", metadata,
    Column("subject_id", String(128), primary_key=True),
    Column("arm_id", String(64), nullable=False),
    Column("propensity", Float),
    Column("assigned_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)
events_table = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("arm_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text),
)
_V3_COLUMNS = (("propensity", "FLOAT"),)
_V4_COLUMNS = (("segment", "VARCHAR(200)"),)
_V5_COLUMNS = (("episode_id", "VARCHAR(128)"), ("holdout", "BOOLEAN"))
_V2_COLUMNS = (("context", "TEXT"), ("stage", f"INTEGER NOT NULL DEFAULT {FULL_STAGE}"), ("stage_since", "FLOAT"),
               ("stage_pulls", "FLOAT NOT NULL DEFAULT 0"))


class StoreError(Exception):
    pass


class DuplicateFeedback(StoreError):
    """That metric already has a value for that decision or episode."""


class UnknownTarget(StoreError):
    """No decision with that id, or no decision routed with that episode id."""


class RewardedArm(str):
    """The arm id a reward went to (a ``str``), with the decision's ``segment`` (or None)."""

    def __new__(cls, arm_id: str, segment: str | None = None):
        obj = super().__new__(cls, arm_id)
        obj.segment = segment
        return obj


class UnknownDecision(StoreError):
    pass


class DuplicateReward(StoreError):
    pass


class ArmConflict(StoreError):
    """An arm id that exists with another genome."""


class UnknownArm(StoreError):
    pass


class VoidedDecision(StoreError):
    """A decision whose arm's genome was replaced before its reward came: the reward would describe
    another prompt, so it is refused."""


ARM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"  # fits the 64-character column; no path or control chars
MAX_LABEL = 200


def check_arm_fields(arm_id: str, label: str) -> None:
    """``ValueError`` for an arm id or label that does not fit its column or holds control characters."""
    import re

    if not re.fullmatch(ARM_ID_PATTERN, arm_id or ""):
        raise ValueError(f"arm id {arm_id[:80]!r} must be 1-64 letters, digits, '.', '_', ':' or '-'")
    if len(label) > MAX_LABEL or any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise ValueError(f"label must be at most {MAX_LABEL} characters without control characters")


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
    context: dict | None = None
    stage: int = 0
    stage_since: float | None = None
    stage_pulls: float = 0.0


def default_store_url(path: str = "results/bandit.sqlite") -> str:
    from pathlib import Path

    p = Path(path).resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{p}"


def engine_url(url: str) -> str:
    """``postgresql://`` means the psycopg 3 driver (the ``postgres`` extra); other URLs pass through."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        from evo.extras import require

        require("psycopg", "a PostgreSQL store")
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class ArmStore:
    def __init__(self, url: str, *, max_batch: int = 512):
        self.url = url
        kwargs: dict = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_size=4, max_overflow=8, pool_pre_ping=True)
        self.engine = create_engine(engine_url(url), future=True, **kwargs)
        # admin writes in this process queue on a lock instead of on SQLite's busy handler
        self._write_lock = threading.Lock()
        # hot-path statements are built once; SQLAlchemy caches their compiled form and the driver
        # prepares them (sqlite3's statement cache; psycopg prepares after a few executions)
        self._insert_decision = insert(decisions_table).values(
            id=bindparam("did"), arm_id=bindparam("arm"), created_at=bindparam("ts"), features=bindparam("feat"),
            propensity=bindparam("prop"), segment=bindparam("seg"), episode_id=bindparam("ep"),
            holdout=bindparam("hold"))
        self._mark_rewarded = (update(decisions_table)
                               .where(decisions_table.c.id == bindparam("did"), decisions_table.c.rewarded_at.is_(None))
                               .values(reward=bindparam("val"), rewarded_at=bindparam("ts"))
                               .returning(decisions_table.c.arm_id, decisions_table.c.segment))
        self._decision_exists = (select(decisions_table.c.id, decisions_table.c.reward)
                                 .where(decisions_table.c.id == bindparam("did")))
        self._decay = update(arms_table).values(n=arms_table.c.n * bindparam("d"), s=arms_table.c.s * bindparam("d"),
                                                ss=arms_table.c.ss * bindparam("d"))
        self._increment = update(arms_table).where(arms_table.c.id == bindparam("arm")).values(
            n=arms_table.c.n + bindparam("dn"), s=arms_table.c.s + bindparam("ds"), ss=arms_table.c.ss + bindparam("dss"))
        self._checkpointer = None
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _):
                enable_wal(dbapi_conn, synchronous="FULL")
                # no checkpoint inside a commit (it stalled every waiting request for ~40 ms each time
                # the WAL reached 1000 pages); a background thread checkpoints instead
                dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(self.engine)
        try:
            metadata.create_all(self.engine)
        except IntegrityError:  # another process created the tables at the same moment
            pass
        self._check_schema()
        self.writer = GroupCommitter(self.engine, self._apply_batch, error=StoreError, max_batch=max_batch)

    def _check_schema(self) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                except IntegrityError:
                    pass
                return
            version = int(row[0])
            if version > SCHEMA_VERSION or version < 1:
                raise StoreError(f"{self.url}: store schema_version {version}, expected {SCHEMA_VERSION}")
            for table, columns in (("arms", _V2_COLUMNS if version < 2 else ()),
                                   ("decisions", (_V3_COLUMNS if version < 3 else ()) + (_V4_COLUMNS if version < 4 else ())
                                    + (_V5_COLUMNS if version < 5 else ()))):
                have = {c["name"] for c in inspect(conn).get_columns(table)}
                for name, ddl in columns:
                    if name not in have:  # another process may have migrated it a moment ago
                        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))
            if version < 5:  # create_all indexes new tables only
                conn.execute(text("CREATE INDEX IF NOT EXISTS ix_decisions_episode_id ON decisions (episode_id)"))
            if version != SCHEMA_VERSION:
                conn.execute(update(meta_table).where(meta_table.c.key == "schema_version")
                             .values(value=str(SCHEMA_VERSION)))

    def close(self) -> None:
        self.writer.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    @contextmanager
    def _write(self):
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _event(self, conn, arm_id: str, kind: str, **detail) -> None:
        conn.execute(insert(events_table).values(ts=time.time(), arm_id=arm_id, kind=kind,
                                                 detail=json.dumps(detail, sort_keys=True)))

    # ---- arms ------------------------------------------------------------------------------------
    def add_arm(self, arm_id: str, genome: dict, *, label: str = "", production: bool = False,
                replace: bool = False, context: dict | None = None) -> ArmRow:
        """Add an arm (at rollout stage 0), or re-activate an arm of the same id and genome. The same id
        with a different genome is ``ArmConflict`` unless ``replace``: then the arm takes the new genome,
        its statistics restart from zero (they described another prompt), its rollout starts over, and its
        decisions still waiting for a reward are voided (a later reward for one is ``VoidedDecision``).
        ``ValueError`` for an id or label that does not fit (``check_arm_fields``)."""
        check_arm_fields(arm_id, label)
        now = time.time()
        ctx = json.dumps(context, sort_keys=True) if context is not None else None
        with self._write() as conn:
            existing = conn.execute(select(arms_table).where(arms_table.c.id == arm_id)).first()
            if existing is not None:
                same = json.loads(existing.genome) == genome
                if not same and not replace:
                    raise ArmConflict(f"arm {arm_id!r} exists with a different genome; pass replace to swap it")
                values: dict = {"active": True, "retired_at": None}
                if ctx is not None:
                    values["context"] = ctx
                if not same:
                    values.update(genome=json.dumps(genome), label=label or existing.label, n=0.0, s=0.0, ss=0.0,
                                  production=production, stage=0, stage_since=now, stage_pulls=0.0)
                conn.execute(update(arms_table).where(arms_table.c.id == arm_id).values(**values))
                voided = 0
                if not same:
                    voided = conn.execute(update(decisions_table).where(
                        decisions_table.c.arm_id == arm_id, decisions_table.c.rewarded_at.is_(None))
                        .values(rewarded_at=now)).rowcount
                if not same:  # another prompt under this id: a new experiment
                    conn.execute(meta_table.delete().where(meta_table.c.key == "winner"))
                self._event(conn, arm_id, "replaced" if not same else "reactivated", label=label, production=production,
                            **({"voided_decisions": voided} if voided else {}))
                return self._arm(conn, arm_id)
            position = conn.execute(select(arms_table.c.position).order_by(arms_table.c.position.desc())).first()
            conn.execute(insert(arms_table).values(
                id=arm_id, position=(position[0] + 1) if position else 0, label=label, genome=json.dumps(genome),
                production=production, active=True, created_at=now, n=0.0, s=0.0, ss=0.0, context=ctx,
                stage=0, stage_since=now, stage_pulls=0.0))
            conn.execute(meta_table.delete().where(meta_table.c.key == "winner"))  # a new arm: a new experiment
            self._event(conn, arm_id, "added", label=label, production=production)
            return self._arm(conn, arm_id)

    def retire_arm(self, arm_id: str) -> None:
        with self._write() as conn:
            result = conn.execute(update(arms_table).where(arms_table.c.id == arm_id)
                                  .values(active=False, retired_at=time.time()))
            if result.rowcount == 0:
                raise UnknownArm(arm_id)
            self._event(conn, arm_id, "retired")

    def declared_winner(self) -> dict | None:
        """The winner declared for the current set of arms (``declare_winner``), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "winner")).first()
        return None if row is None else json.loads(row[0])

    def declare_winner(self, arm_id: str, evidence: dict, *, retire_others: bool) -> bool:
        """End the experiment with ``arm_id`` as the winner: it becomes the production arm, every other
        active arm stops being production and is retired (``retire_others``) or keeps serving; one
        ``winner`` event holds the evidence. Once per set of arms: several routers may decide at once,
        exactly one makes the change (returns True); deploying a new arm starts a new experiment."""
        now = time.time()
        with self._write() as conn:
            if conn.execute(select(meta_table.c.key).where(meta_table.c.key == "winner")).first() is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(insert(meta_table).values(key="winner", value=json.dumps(
                        {"arm_id": arm_id, "ts": now, **evidence}, sort_keys=True)))
            except IntegrityError:
                return False
            if conn.execute(update(arms_table).where(arms_table.c.id == arm_id)
                            .values(production=True, active=True)).rowcount == 0:
                raise UnknownArm(arm_id)
            others = update(arms_table).where(arms_table.c.id != arm_id, arms_table.c.active.is_(True))
            conn.execute(others.values(production=False, **({"active": False, "retired_at": now} if retire_others
                                                              else {})))
            self._event(conn, arm_id, "winner", **evidence, retired_others=retire_others)
            return True

    def set_stage(self, arm_id: str, stage: int, *, expected: int, reason: str, **detail) -> bool:
        """Move an arm to rollout ``stage`` if it is still at ``expected`` (several routers may decide at
        once: exactly one wins and logs the event). Returns whether this call made the change."""
        with self._write() as conn:
            n = conn.execute(select(arms_table.c.n).where(arms_table.c.id == arm_id)).scalar_one_or_none()
            if n is None:
                raise UnknownArm(arm_id)
            result = conn.execute(update(arms_table).where(arms_table.c.id == arm_id, arms_table.c.stage == expected)
                                  .values(stage=stage, stage_since=time.time(), stage_pulls=n))
            if result.rowcount == 0:
                return False
            self._event(conn, arm_id, reason, **{"from": expected, "to": stage, **detail})
            return True

    def events(self, arm_id: str | None = None) -> list[dict]:
        query = select(events_table).order_by(events_table.c.id)
        if arm_id is not None:
            query = query.where(events_table.c.arm_id == arm_id)
        with self.engine.connect() as conn:
            return [{"ts": r.ts, "arm_id": r.arm_id, "kind": r.kind, "detail": json.loads(r.detail or "{}")}
                    for r in conn.execute(query)]

    def _arm(self, conn, arm_id: str) -> ArmRow:
        row = conn.execute(select(arms_table).where(arms_table.c.id == arm_id)).first()
        if row is None:
            raise UnknownArm(arm_id)
        return _arm(row)

    def arm(self, arm_id: str) -> ArmRow:
        with self.engine.connect() as conn:
            return self._arm(conn, arm_id)

    def arms(self, include_retired: bool = True) -> list[ArmRow]:
        query = select(arms_table).order_by(arms_table.c.position)
        if not include_retired:
            query = query.where(arms_table.c.active.is_(True))
        with self.engine.connect() as conn:
            return [_arm(r) for r in conn.execute(query)]

    def ping(self) -> None:
        """One read round trip; raises the driver's error when the store is unreachable."""
        with self.engine.connect() as conn:
            conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()

    def health(self) -> dict:
        """What ``/healthz`` reports: ``{"ok", "store", "active_arms"}``. Not ok when the store does not
        answer, its file is gone (SQLite: an open connection still reads a deleted file), its schema
        version is not this version's, or no arm is active (``/route`` could not answer)."""
        if self.url.startswith("sqlite:///"):
            path = self.url[len("sqlite:///"):]
            if path and path != ":memory:" and not os.path.exists(path):
                return {"ok": False, "store": f"the store file {path} no longer exists", "active_arms": 0}
        with self.engine.connect() as conn:
            version = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
            active = conn.execute(select(func.count()).select_from(arms_table)
                                  .where(arms_table.c.active.is_(True))).scalar()
        if version != str(SCHEMA_VERSION):
            return {"ok": False, "store": f"schema_version {version}, expected {SCHEMA_VERSION}", "active_arms": active}
        if not active:
            return {"ok": False, "store": "ok", "active_arms": 0, "detail": "no active arm: deploy a production prompt"}
        return {"ok": True, "store": "ok", "active_arms": active}

    def prune_decisions(self, older_than_s: float) -> int:
        """Delete decisions created more than ``older_than_s`` seconds ago (rewarded or not; arms keep their
        statistics); returns how many. A later reward for a pruned decision is ``UnknownDecision``."""
        cutoff = time.time() - older_than_s
        with self._write() as conn:
            return conn.execute(decisions_table.delete().where(decisions_table.c.created_at < cutoff)).rowcount

    # ---- decisions and rewards ----------------------------------------------------------------------
    def submit_decision(self, decision_id: str, arm_id: str, features: dict | None = None,
                        propensity: float | None = None, sticky: tuple | None = None,
                        segment: str | None = None, episode_id: str | None = None,
                        holdout: bool | None = None) -> Future:
        """Queue the decision's row (``propensity``: the probability its arm was chosen with); the future
        resolves to ``(arm_id, propensity)`` of the committed row once it is committed.

        ``sticky = (subject_id, ttl_s, eligible_arm_ids)``: in the same transaction, the subject's stored
        assignment is used when it has not expired and its arm is eligible (the decision then takes that
        arm and the propensity it was assigned with); otherwise ``arm_id`` becomes the subject's
        assignment for ``ttl_s`` seconds. Replacing an assignment is a compare-and-set on the row read,
        so when several routers assign one subject at once, all of them answer with the one stored."""
        return self.writer.submit(("d", decision_id, arm_id, time.time(),
                                   json.dumps(features) if features is not None else None, propensity, sticky,
                                   segment, episode_id, holdout))

    def submit_reward(self, decision_id: str, value: float, discount: float = 1.0) -> Future:
        """Queue a reward; the future resolves to the decision's arm id once the reward is committed,
        or raises ``UnknownDecision`` / ``DuplicateReward`` / ``StoreError``."""
        return self.writer.submit(("r", decision_id, float(value), discount))

    def record_decision(self, decision_id: str, arm_id: str, features: dict | None = None,
                        propensity: float | None = None) -> None:
        self.submit_decision(decision_id, arm_id, features, propensity).result()

    def assignment(self, subject_id: str) -> dict | None:
        """The subject's stored assignment (arm_id, propensity, assigned_at, expires_at), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(assignments_table).where(assignments_table.c.subject_id == subject_id)).first()
        return None if row is None else dict(row._mapping)

    def _held_assignments(self, conn, items) -> dict:
        """subject -> its stored assignment row, for every sticky decision of a batch (one query)."""
        subjects = sorted({it[6][0] for it in items if it[0] == "d" and it[6] is not None})
        if not subjects:
            return {}
        t = assignments_table
        rows = conn.execute(select(t.c.subject_id, t.c.arm_id, t.c.propensity, t.c.expires_at)
                            .where(t.c.subject_id.in_(subjects))).all()
        return {r.subject_id: r for r in rows}

    def _assign_new_subjects(self, conn, items, held: dict) -> None:
        """Assign every subject of the batch that has no assignment yet, in one INSERT (the first
        decision of a subject in the batch draws its arm; a subject another router assigned a moment
        ago keeps that assignment), then read them back into ``held``."""
        t = assignments_table
        new: dict = {}
        for it in items:
            if it[0] == "d" and it[6] is not None and it[6][0] not in held and it[6][0] not in new:
                subject, ttl_s, _ = it[6]
                new[subject] = {"subject_id": subject, "arm_id": it[2], "propensity": it[5], "assigned_at": it[3],
                                "expires_at": it[3] + ttl_s}
        if not new:
            return
        conn.execute(self._insert_new_assignment(), [new[s] for s in sorted(new)])
        rows = conn.execute(select(t.c.subject_id, t.c.arm_id, t.c.propensity, t.c.expires_at)
                            .where(t.c.subject_id.in_(sorted(new)))).all()
        held.update({r.subject_id: r for r in rows})

    def _resolve_sticky(self, conn, item, held: dict) -> tuple[str, float | None]:
        """The arm and propensity of a sticky decision (see ``submit_decision``); ``held``: the batch's
        assignments as read at its start, kept current as this batch assigns subjects."""
        _, _, arm, ts, _, prop, (subject, ttl_s, eligible), *_ = item
        t = assignments_table
        row = held.get(subject)
        if row is not None and row.expires_at > ts and row.arm_id in eligible:
            return row.arm_id, row.propensity
        values = {"arm_id": arm, "propensity": prop, "assigned_at": ts, "expires_at": ts + ttl_s}
        if row is None:
            written = conn.execute(self._insert_new_assignment(), {"subject_id": subject, **values}).rowcount
        else:
            written = conn.execute(update(t).where(t.c.subject_id == subject, t.c.arm_id == row.arm_id,
                                                   t.c.expires_at == row.expires_at).values(**values)).rowcount
        if written == 1:  # this decision's draw is the assignment
            held[subject] = SimpleNamespace(subject_id=subject, arm_id=arm, propensity=prop, expires_at=ts + ttl_s)
            return arm, prop
        stored = conn.execute(select(t.c.subject_id, t.c.arm_id, t.c.propensity, t.c.expires_at)
                              .where(t.c.subject_id == subject)).first()  # another router assigned it first
        held[subject] = stored
        return stored.arm_id, stored.propensity

    def _insert_new_assignment(self):
        """INSERT that leaves an existing row alone (another router assigned the subject first)."""
        return self._insert_new(assignments_table, ["subject_id"])

    def apply_reward(self, decision_id: str, value: float, discount: float = 1.0) -> str:
        """Mark the decision rewarded and update its arm's statistics atomically; returns the arm id."""
        return self.submit_reward(decision_id, value, discount).result()

    def _apply_batch(self, conn, items) -> list:
        """One transaction's work for the group committer (see the module contract)."""
        out: list = [None] * len(items)
        rows = []
        held = self._held_assignments(conn, items)
        self._assign_new_subjects(conn, items, held)
        for i, it in enumerate(items):
            if it[0] == "d":
                arm, prop = self._resolve_sticky(conn, it, held) if it[6] is not None else (it[2], it[5])
                rows.append({"did": it[1], "arm": arm, "ts": it[3], "feat": it[4], "prop": prop, "seg": it[7],
                             "ep": it[8], "hold": it[9]})
                out[i] = (arm, prop)
        if rows:
            conn.execute(self._insert_decision, rows)
        now = time.time()
        applied: list[tuple[str, float]] = []
        by_segment: list[tuple[tuple[str, str], float]] = []
        discount = 1.0
        # rewards in decision-id order: two transactions never lock the same decisions in opposite orders
        for i in sorted((i for i, it in enumerate(items) if it[0] == "r"), key=lambda i: items[i][1]):
            _, did, value, discount = items[i]
            row = conn.execute(self._mark_rewarded, {"did": did, "val": value, "ts": now}).first()
            if row is None:
                found = conn.execute(self._decision_exists, {"did": did}).first()
                out[i] = (UnknownDecision(did) if found is None else DuplicateReward(did) if found.reward is not None
                          else VoidedDecision(did))
                continue
            out[i] = RewardedArm(row.arm_id, row.segment)
            applied.append((row.arm_id, value))
            if row.segment is not None:
                by_segment.append(((row.arm_id, row.segment), value))
        for i in sorted((i for i, it in enumerate(items) if it[0] == "f"), key=lambda i: items[i][1:4]):
            out[i] = self._apply_feedback(conn, items[i], now, applied, by_segment)
            if items[i][6] is not None:
                discount = items[i][6]
        if applied:
            factor, totals = discounted_updates(discount, applied)
            if factor < 1.0:
                conn.execute(self._decay, {"d": factor})
            # arms in id order: concurrent transactions take the arm rows' locks in the same order
            conn.execute(self._increment, [{"arm": a, "dn": t[0], "ds": t[1], "dss": t[2]}
                                           for a, t in sorted(totals.items())])
        if by_segment:
            factor, totals = discounted_updates(discount, by_segment)
            if factor < 1.0:
                conn.execute(update(segment_stats_table).values(n=segment_stats_table.c.n * factor,
                                                                s=segment_stats_table.c.s * factor,
                                                                ss=segment_stats_table.c.ss * factor))
            conn.execute(self._segment_upsert(), [{"arm_id": a, "segment": g, "n": t[0], "s": t[1], "ss": t[2]}
                                                  for (a, g), t in sorted(totals.items())])
        return out

    def submit_feedback(self, level: str, target_id: str, metric: str, value: float, *,
                        objective_discount: float | None = None) -> Future:
        """Queue a metric's value for a decision (``level="decision"``) or an episode; the future
        resolves to ``{"decisions": k, "rewarded": [RewardedArm, ...]}`` once committed, or raises
        ``DuplicateFeedback`` / ``UnknownTarget``. ``objective_discount`` (not None): the metric is the
        routing objective, so each decision it reaches that has no reward yet gets it as its reward."""
        return self.writer.submit(("f", level, target_id, metric, float(value), objective_discount is not None,
                                   objective_discount))

    def _apply_feedback(self, conn, item, now: float, applied: list, by_segment: list):
        _, level, target_id, metric, value, objective, _ = item
        d = decisions_table
        where = d.c.id == target_id if level == "decision" else d.c.episode_id == target_id
        decisions = conn.execute(select(d.c.id, d.c.arm_id, d.c.segment).where(where).order_by(d.c.id)).all()
        if not decisions:
            return UnknownTarget(f"no decision {'' if level == 'decision' else 'with episode_id '}{target_id!r}")
        inserted = conn.execute(self._insert_new(feedback_table, ["target", "metric"]), {
            "target": f"{level[0]}:{target_id}", "metric": metric, "value": value, "ts": now}).rowcount
        if not inserted:
            return DuplicateFeedback(f"{metric} already has a value for {level} {target_id!r}")
        per_arm: dict[str, int] = {}
        for row in decisions:
            per_arm[row.arm_id] = per_arm.get(row.arm_id, 0) + 1
        conn.execute(self._stats_upsert(metric_stats_table, ["arm_id", "metric"]), [
            {"arm_id": a, "metric": metric, "n": float(k), "s": k * value, "ss": k * value * value}
            for a, k in sorted(per_arm.items())])
        rewarded = []
        if objective:
            for row in decisions:
                if conn.execute(self._mark_rewarded, {"did": row.id, "val": value, "ts": now}).first() is not None:
                    rewarded.append(RewardedArm(row.arm_id, row.segment))
                    applied.append((row.arm_id, value))
                    if row.segment is not None:
                        by_segment.append(((row.arm_id, row.segment), value))
        return {"decisions": len(decisions), "rewarded": rewarded}

    def _insert_new(self, table, keys: list[str]):
        """INSERT that leaves an existing row alone (its rowcount says whether it inserted)."""
        return self._dialect_insert(table).on_conflict_do_nothing(index_elements=keys)

    def _dialect_insert(self, table):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        return dialect_insert(table)

    def _stats_upsert(self, table, keys: list[str]):
        """INSERT an (n, s, ss) row, or add to it (``n = n + excluded.n``...)."""
        stmt = self._dialect_insert(table)
        return stmt.on_conflict_do_update(index_elements=keys, set_={
            "n": table.c.n + stmt.excluded.n, "s": table.c.s + stmt.excluded.s, "ss": table.c.ss + stmt.excluded.ss})

    def metric_stats(self) -> dict[tuple[str, str], tuple[float, float, float]]:
        """(arm id, metric) -> (n, s, ss) of the declared metrics' values."""
        with self.engine.connect() as conn:
            return {(r.arm_id, r.metric): (r.n, r.s, r.ss) for r in conn.execute(select(metric_stats_table))}

    def rewarded_since(self, ts: float) -> list:
        """Rewarded decisions with ``rewarded_at >= ts``: (id, arm_id, features, reward, rewarded_at)."""
        d = decisions_table
        query = (select(d.c.id, d.c.arm_id, d.c.features, d.c.reward, d.c.rewarded_at)
                 .where(d.c.reward.is_not(None), d.c.rewarded_at >= ts))
        with self.engine.connect() as conn:
            return [(r.id, r.arm_id, json.loads(r.features) if r.features else {}, r.reward, r.rewarded_at)
                    for r in conn.execute(query)]

    def holdout_comparison(self) -> dict:
        """Rewarded decisions of the control share (``holdout``) against the rest: count and mean reward."""
        d = decisions_table
        out = {}
        with self.engine.connect() as conn:
            for label, cond in (("holdout", d.c.holdout.is_(True)), ("experiment", d.c.holdout.is_not(True))):
                n, total = conn.execute(select(func.count(), func.sum(d.c.reward))
                                        .where(cond, d.c.reward.is_not(None))).one()
                out[label] = {"rewarded": n, "mean_reward": (total / n) if n else None}
        return out

    def _segment_upsert(self):
        return self._stats_upsert(segment_stats_table, ["arm_id", "segment"])

    def segment_stats(self) -> dict[str, dict[str, tuple[float, float, float]]]:
        """segment -> arm id -> (n, s, ss), for every (arm, segment) with a reward."""
        out: dict = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(segment_stats_table)):
                out.setdefault(r.segment, {})[r.arm_id] = (r.n, r.s, r.ss)
        return out

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

    def recent_shares(self, last: int = 1000) -> dict[str, float]:
        """Each arm's share of the last ``last`` decisions (what traffic actually saw)."""
        recent = select(decisions_table.c.arm_id).order_by(decisions_table.c.created_at.desc()).limit(last).subquery()
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(recent.c.arm_id, func.count()).group_by(recent.c.arm_id)).all())
        total = sum(counts.values())
        return {a: c / total for a, c in counts.items()} if total else {}

    def logs(self, limit: int | None = None) -> list[dict]:
        """Rewarded decisions with their arm's genome and the request features (reward-model data)."""
        query = (select(decisions_table.c.id, decisions_table.c.arm_id, decisions_table.c.features,
                        decisions_table.c.reward, decisions_table.c.propensity, arms_table.c.genome)
                 .join(arms_table, arms_table.c.id == decisions_table.c.arm_id)
                 .where(decisions_table.c.reward.is_not(None)).order_by(decisions_table.c.created_at))
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [{"decision_id": r.id, "arm_id": r.arm_id, "features": json.loads(r.features) if r.features else {},
                     "reward": r.reward, "propensity": r.propensity, "genome": json.loads(r.genome)}
                    for r in conn.execute(query)]


class _Checkpointer:
    """Moves the SQLite WAL into the database file every ``every_s`` seconds with a PASSIVE checkpoint,
    which never blocks writers, off the commit path."""

    def __init__(self, engine, every_s: float = 0.5):
        self.engine, self.every_s = engine, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="store-checkpointer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001 - a busy database: try again next time
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _arm(row) -> ArmRow:
    return ArmRow(row.id, row.position, row.label, json.loads(row.genome), bool(row.production), bool(row.active),
                  float(row.n), float(row.s), float(row.ss), json.loads(row.context) if row.context else None,
                  int(row.stage), row.stage_since, float(row.stage_pulls or 0.0))
