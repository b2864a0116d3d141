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
# Raw rows of a model, by kind. The partitioned schema (seia.partitions) stores them per model.
RAW_TABLES = ("predictions", "ground_truths", "reference_rows")


def _feature(f: dict) -> Feature:
    return Feature(f["name"], f["type"], f.get("added_at"), f.get("removed_at"))


def _model(row) -> Model:
    id_, name, task, features, labels, settings, created_at = row
    return Model(
        id=id_,
        name=name,
        task=task,
        features=tuple(_feature(f) for f in features),
        labels=tuple(labels) if labels is not None else None,
        settings=settings or {},
        created_at=created_at,
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
    COLUMNS = "id, name, task, features, labels, settings, created_at"
    INSERT = f"""
        INSERT INTO models (name, task, features, labels, settings) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (name) DO NOTHING
        RETURNING {COLUMNS}"""
    BY_NAME = f"SELECT {COLUMNS} FROM models WHERE name = %s"
    BY_NAME_FOR_UPDATE = f"SELECT {COLUMNS} FROM models WHERE name = %s FOR UPDATE"
    ALL = f"SELECT {COLUMNS} FROM models ORDER BY name"
    EXISTS = "SELECT 1 FROM models WHERE id = %s"
    UPDATE_SETTINGS = f"UPDATE models SET settings = %s WHERE id = %s RETURNING {COLUMNS}"
    UPDATE_DEFINITION = f"""
        UPDATE models SET features = %s, labels = %s, settings = %s WHERE id = %s RETURNING {COLUMNS}"""
    LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
    DELETE_RAW = "DELETE FROM {} WHERE model_id = %s"
    DELETE = "DELETE FROM models WHERE id = %s"
    # Today's raw tables hold every model: a model's share of the bytes is its share of the rows.
    ROWS = "SELECT count(*) FROM {} WHERE model_id = %s"
    # The table's rows as the planner's statistics count them (counted only when never analysed): usage is
    # asked model by model, and counting every model's rows each time would read the table once per model.
    TABLE_STATS = """
        SELECT CASE WHEN c.reltuples < 0 THEN (SELECT count(*) FROM {}) ELSE c.reltuples::bigint END,
               pg_total_relation_size(c.oid)
        FROM pg_class c WHERE c.oid = %s::regclass"""

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
        """Remove the model's predictions, ground truths and reference rows.

        The one place raw rows of a model are removed: with the partitioned tables, ``seia.partitions.drop_model``
        (dropping the model's partitions) replaces these DELETEs.
        """
        for table in RAW_TABLES:
            self.conn.execute(sql.SQL(self.DELETE_RAW).format(sql.Identifier(table)), (model_id,))

    def delete(self, model_id: int) -> None:
        """Remove the model and everything derived from it: every other table of a tenant database refers to
        ``models(id) ON DELETE CASCADE`` (migrations 0001-0008; tests/integration/test_lifecycle.py checks each)."""
        self.lock(model_id)
        self.delete_raw_rows(model_id)
        self.conn.execute(self.DELETE, (model_id,))

    # -- usage ------------------------------------------------------------------------------------------------
    def usage(self, model_id: int) -> list[TableUsage]:
        """Rows, bytes and partitions of the model's raw rows, per table.

        The one place usage is measured: with the partitioned tables, ``seia.partitions.partition_usage``
        (the sizes of the model's own partitions) replaces this. Today one table holds every model, so the
        bytes are the table's in proportion to the model's rows, and the partitions 1 (0 when it has no rows).
        """
        out = []
        for table in RAW_TABLES:
            ident = sql.Identifier(table)
            found = self.conn.execute(sql.SQL(self.ROWS).format(ident), (model_id,)).fetchone()
            rows = int(found[0]) if found else 0
            stats = self.conn.execute(sql.SQL(self.TABLE_STATS).format(ident), (table,)).fetchone()
            total_rows, total_bytes = (int(stats[0]), int(stats[1])) if stats else (0, 0)
            share = round(total_bytes * min(1.0, rows / max(total_rows, rows))) if rows else 0
            out.append(TableUsage(table, rows, share, 1 if rows else 0))
        return out
