"""Segment models' rows (docs/segments.md): the one predicate every read of a segment model's raw rows uses.

A model declares up to 3 segment fields (``models.segments``); each row carries its values in ``seg[]``, slot i
for field i (tenant migration 0013). The drift engine follows each followed value of a field, and the rest
(``<field>:other``), as a segment model: a ``models`` row with ``parent_id`` and ``segment`` = ``'<field>:<value>'``.
The engine (``seia_drift``) and the query API (``/stats``) select its rows with :class:`Rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seia.schema import Model

OTHER = "other"


def segment_fields(model: Model) -> list[str]:
    """The model's declared segment fields, in slot order of ``seg[]``."""
    return [f["name"] if isinstance(f, dict) else str(f) for f in model.segments]


def split(segment: str) -> tuple[str, str]:
    """``'region:eu'`` → ``('region', 'eu')`` (a value may itself hold ':')."""
    field, _, value = segment.partition(":")
    return field, value


def followed(segments: Iterable[str]) -> dict[str, list[str]]:
    """Field → its followed values (sorted), from the segments of a parent's segment models."""
    out: dict[str, list[str]] = {}
    for segment in segments:
        field, value = split(segment)
        out.setdefault(field, [])
        if value != OTHER:
            out[field].append(value)
    return {k: sorted(v) for k, v in out.items()}


def rows_of(parent: Model, segment: str, siblings: Iterable[str]) -> Rows:
    """The rows of the parent's segment model `segment`, given the segments of all its segment models."""
    field, value = split(segment)
    slot = segment_fields(parent).index(field) + 1
    if value == OTHER:
        return Rows(parent.id, slot, None, tuple(followed(siblings).get(field, [])))
    return Rows(parent.id, slot, value)


@dataclass(frozen=True)
class Rows:
    """Which raw rows are a model's: the one predicate every raw read of the engine goes through.

    A model's rows are stored under its own id. A segment model (docs/segments.md) has none: its rows are its
    parent's (``model_id`` = the parent's, so partition pruning works) whose ``seg[slot]`` is its value, or,
    for ``<field>:other``, whose value is missing or not among the followed ``others``. Ground truths carry no
    segment values: a read of them alone (hours touched by labels) takes the parent's, a superset.
    """

    model_id: int  # the id the rows are stored under (the parent's for a segment model)
    slot: int | None = None  # 1-based slot of the segment field in seg[]
    value: str | None = None  # the followed value; None with a slot: ``other``
    others: tuple[str, ...] = ()  # for ``other``: the field's followed values

    def where(self, alias: str = "p") -> str:
        """The extra condition (`` AND ...``; empty for a whole model) over a predictions or reference_rows
        alias. Its text holds only the slot (an integer) and named parameters (:attr:`params`)."""
        if self.slot is None:
            return ""
        column = f"{alias}.seg[{int(self.slot)}]"
        if self.value is not None:
            return f" AND {column} = %(seg_value)s"
        return f" AND ({column} IS NULL OR {column} <> ALL(%(seg_others)s::text[]))"

    @property
    def params(self) -> dict[str, Any]:
        """``model`` (the stored id) and the segment's parameters."""
        if self.slot is None:
            return {"model": self.model_id}
        if self.value is not None:
            return {"model": self.model_id, "seg_value": self.value}
        return {"model": self.model_id, "seg_others": list(self.others)}

    def sql(self, text: str, alias: str = "p") -> str:
        """`text` with its ``{seg}`` marker replaced by :meth:`where`."""
        return text.replace("{seg}", self.where(alias))
