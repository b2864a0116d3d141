"""Tenant database: model definitions, their changes (``PATCH``) and their removal (``DELETE``)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from seia import partitions
from seia.schema import Feature, Model

# The drift engine's per-model lock (seia_drift.repositories.state.LOCK_CLASS): deleting a model waits for the
# engine's step under way on it, so no step writes for a model that is gone half way through.
MODEL_LOCK_CLASS = 0x5E1D
# A DELETE waits no longer for the writers of the model's rows (a batch commits in well under a second; a bulk
# file holds the model for its whole load): then it gives up, deleting nothing, and says to retry.
DELETE_WAIT = "10s"
# Raw rows of a model, by kind. The partitioned schema (seia.partitions) stores them per model.
RAW_TABLES = ("predictions", "ground_truths", "reference_rows")


def _feature(f: dict) -> Feature:
    return Feature(f["name"], f["type"], f.get("added_at"), f.get("removed_at"))


def _model(row) -> Model:
    id_, name, task, features, labels, settings, created_at, segments, parent_id, segment = row
    return Model(
        id=id_,
        name=name,
        task=task,
        features=tuple(_feature(f) for f in features),
        labels=tuple(labels) if labels is not None else None,
        settings=settings or {},
        created_at=created_at,
        segments=tuple(segments or ()),
        parent_id=parent_id,
        segment=segment,
    )


@dataclass(frozen=True)
class TableUsage:
    """One raw-row table of a model: rows, bytes on disk (table, indexes and TOAST) and partitions."""

    table: str
    rows: int
    bytes: int
    partitions: int

    def as_dict(self) -> dict:
        return {"table": self.table, "rows": self.rows, "bytes": self.bytes, "partitions": self.partitions}


class ModelRepository:
    COLUMNS = "id, name, task, features, labels, settings, created_at, segments, parent_id, segment"
    INSERT = f"""
        INSERT INTO models (name, task, features, labels, settings, segments) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (name) DO NOTHING
        RETURNING {COLUMNS}"""
    # Segment models (parent_id set) are the engine's: never found by name nor listed.
    BY_NAME = f"SELECT {COLUMNS} FROM models WHERE name = %s AND parent_id IS NULL"
    BY_NAME_FOR_UPDATE = f"SELECT {COLUMNS} FROM models WHERE name = %s AND parent_id IS NULL FOR UPDATE"
    ALL = f"SELECT {COLUMNS} FROM models WHERE parent_id IS NULL ORDER BY name"
    EXISTS = "SELECT 1 FROM models WHERE id = %s"
    SEGMENT_MODELS = f"SELECT {COLUMNS} FROM models WHERE parent_id = %s ORDER BY id"
    UPDATE_SETTINGS = f"UPDATE models SET settings = %s WHERE id = %s RETURNING {COLUMNS}"
    UPDATE_DEFINITION = f"""
        UPDATE models SET features = %s, labels = %s, settings = %s, segments = coalesce(%s, segments) WHERE id = %s
        RETURNING {COLUMNS}"""
    LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
    # A writer of rows holds the model's row FOR KEY SHARE for its transaction; a DELETE takes it FOR UPDATE
    # before dropping anything, so the two never interleave (docs/lifecycle.md).
    HOLD = "SELECT 1 FROM models WHERE id = %s FOR KEY SHARE"
    CLAIM = "SELECT 1 FROM models WHERE id = %s FOR UPDATE"
    DELETE = "DELETE FROM models WHERE id = %s"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(
        self, name: str, task: str, features, labels, settings: dict, segments: tuple[str, ...] | list[str] = ()
    ) -> Model | None:
        """The new model, or None when one of that name exists. ``segments``: its segment fields, in slot order."""
        row = self.conn.execute(
            self.INSERT,
            (
                name,
                task,
                Jsonb([{"name": f.name, "type": f.type} for f in features]),
                Jsonb(labels) if labels is not None else None,
                Jsonb(settings),
                Jsonb(list(segments)),
            ),
        ).fetchone()
        if row is None:
            return None
        model = _model(row)
        partitions.ensure_model_partitions(self.conn, model.id)
        return model

    def get(self, name: str, for_update: bool = False) -> Model | None:
        row = self.conn.execute(self.BY_NAME_FOR_UPDATE if for_update else self.BY_NAME, (name,)).fetchone()
        return _model(row) if row else None

    def exists(self, model_id: int) -> bool:
        return self.conn.execute(self.EXISTS, (model_id,)).fetchone() is not None

    def segment_models(self, parent_id: int) -> list[Model]:
        """The drift engine's segment models of a model (seia.segment_rows), as stored, oldest first."""
        return [_model(r) for r in self.conn.execute(self.SEGMENT_MODELS, (parent_id,)).fetchall()]

    def all(self) -> list[Model]:
        return [_model(r) for r in self.conn.execute(self.ALL).fetchall()]

    def update_settings(self, model_id: int, settings: dict) -> Model:
        return _model(self.conn.execute(self.UPDATE_SETTINGS, (Jsonb(settings), model_id)).fetchone())

    def update_definition(
        self,
        model_id: int,
        features: tuple[Feature, ...],
        labels: tuple[str, ...] | None,
        settings: dict,
        segments: tuple[str, ...] | None = None,
    ) -> Model:
        """Store a changed definition (``PATCH``): features in slot order, removed ones kept with their slot;
        ``segments`` (None: unchanged) in slot order of the rows' ``seg[]`` (only ever appended to)."""
        row = self.conn.execute(
            self.UPDATE_DEFINITION,
            (
                Jsonb([f.as_dict() for f in features]),
                Jsonb(list(labels)) if labels is not None else None,
                Jsonb(settings),
                Jsonb(list(segments)) if segments is not None else None,
                model_id,
            ),
        ).fetchone()
        return _model(row)

    def hold(self, model_id: int) -> bool:
        """Keep the model from being deleted until this transaction ends (False: it was deleted already).

        A writer of the model's rows calls it first in its transaction: a DELETE under way is waited for and
        then seen (False), and a DELETE that comes later waits for the write to commit, then removes its rows
        with the rest. Writers do not block one another (KEY SHARE); a PATCH (FOR UPDATE) waits for them."""
        return self.conn.execute(self.HOLD, (model_id,)).fetchone() is not None

    # -- deletion ---------------------------------------------------------------------------------------------
    def lock(self, model_id: int) -> None:
        """Wait for the drift engine's step under way on the model; hold its lock until this transaction ends."""
        self.conn.execute(self.LOCK, (MODEL_LOCK_CLASS, model_id))

    def delete_raw_rows(self, model_id: int) -> None:
        """Remove the model's predictions, ground truths, reference rows and duplicate keys: its partitions
        are dropped whole (tenant migration 0009; the raw tables do not cascade from ``models``)."""
        partitions.drop_model(self.conn, model_id)

    def delete(self, model_id: int) -> None:
        """Remove the model and everything derived from it: every other table of a tenant database refers to
        ``models(id) ON DELETE CASCADE`` (migrations 0001-0008; tests/integration/test_lifecycle.py checks each)."""
        self.lock(model_id)
        # Writers of rows hold the model's row (hold()): wait for those under way, keep new ones out; so no batch
        # writes into a partition being dropped, nor re-creates one for a model that is gone.
        self.conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(DELETE_WAIT)))
        self.conn.execute(self.CLAIM, (model_id,))
        self.delete_raw_rows(model_id)
        self.conn.execute(self.DELETE, (model_id,))

    # -- usage ------------------------------------------------------------------------------------------------
    def usage(self, model_id: int) -> list[TableUsage]:
        """Rows, bytes on disk (with indexes and TOAST) and leaf partitions of the model's raw tables."""
        found = partitions.partition_usage(self.conn, model_id)
        return [TableUsage(table, u["rows"], u["bytes"], u["partitions"]) for table, u in found.items()]
