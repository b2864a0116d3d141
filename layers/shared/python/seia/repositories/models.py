"""Tenant database: model definitions, their changes (``PATCH``) and their removal (``DELETE``)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from seia import partitions
from seia.schema import Feature, Model

# The drift engine's per-model lock (seia_drift.repositories.state.LOCK_CLASS): deleting a model waits for the
# engine's step under way on it, so no step writes for a model that is gone half way through.
MODEL_LOCK_CLASS = 0x5E1D
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
        INSERT INTO models (name, task, features, labels, settings) VALUES (%s, %s, %s, %s, %s)
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
        UPDATE models SET features = %s, labels = %s, settings = %s WHERE id = %s RETURNING {COLUMNS}"""
    LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
    DELETE = "DELETE FROM models WHERE id = %s"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, name: str, task: str, features, labels, settings: dict) -> Model | None:
        """The new model, or None when one of that name exists."""
        row = self.conn.execute(
            self.INSERT,
            (
                name,
                task,
                Jsonb([{"name": f.name, "type": f.type} for f in features]),
                Jsonb(labels) if labels is not None else None,
                Jsonb(settings),
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
        self, model_id: int, features: tuple[Feature, ...], labels: tuple[str, ...] | None, settings: dict
    ) -> Model:
        """Store a changed definition (``PATCH``): features in slot order, removed ones kept with their slot."""
        row = self.conn.execute(
            self.UPDATE_DEFINITION,
            (
                Jsonb([f.as_dict() for f in features]),
                Jsonb(list(labels)) if labels is not None else None,
                Jsonb(settings),
                model_id,
            ),
        ).fetchone()
        return _model(row)

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
        self.delete_raw_rows(model_id)
        self.conn.execute(self.DELETE, (model_id,))

    # -- usage ------------------------------------------------------------------------------------------------
    def usage(self, model_id: int) -> list[TableUsage]:
        """Rows, bytes on disk (with indexes and TOAST) and leaf partitions of the model's raw tables."""
        found = partitions.partition_usage(self.conn, model_id)
        return [TableUsage(table, u["rows"], u["bytes"], u["partitions"]) for table, u in found.items()]
