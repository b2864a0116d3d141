"""Tenant database: model definitions."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from seia import partitions
from seia.schema import Feature, Model


def _model(row) -> Model:
    id_, name, task, features, labels, settings, created_at = row
    return Model(
        id=id_,
        name=name,
        task=task,
        features=tuple(Feature(f["name"], f["type"]) for f in features),
        labels=tuple(labels) if labels is not None else None,
        settings=settings or {},
        created_at=created_at,
    )


class ModelRepository:
    COLUMNS = "id, name, task, features, labels, settings, created_at"
    INSERT = f"""
        INSERT INTO models (name, task, features, labels, settings) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (name) DO NOTHING
        RETURNING {COLUMNS}"""
    BY_NAME = f"SELECT {COLUMNS} FROM models WHERE name = %s"
    ALL = f"SELECT {COLUMNS} FROM models ORDER BY name"
    UPDATE_SETTINGS = f"UPDATE models SET settings = %s WHERE id = %s RETURNING {COLUMNS}"

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

    def get(self, name: str) -> Model | None:
        row = self.conn.execute(self.BY_NAME, (name,)).fetchone()
        return _model(row) if row else None

    def all(self) -> list[Model]:
        return [_model(r) for r in self.conn.execute(self.ALL).fetchall()]

    def update_settings(self, model_id: int, settings: dict) -> Model:
        return _model(self.conn.execute(self.UPDATE_SETTINGS, (Jsonb(settings), model_id)).fetchone())
