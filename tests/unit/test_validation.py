"""Record validation without a database."""

import pytest

from seia.errors import PayloadTooLarge, ValidationFailed
from seia.schema import Feature, Model
from seia_ingest.validation import PREDICTION_FIELDS, RecordValidator, envelope, model_definition

MODEL = Model(1, "m", "binary_classification", (Feature("x", "numeric"), Feature("c", "categorical")), ("0", "1"))


def _predictions(records):
    """The ingest route's two passes: the envelope without the model, then the records against it."""
    return RecordValidator(MODEL).predictions(envelope(records, PREDICTION_FIELDS))


def rec(**kw):
    r = {
        "prediction_id": "a",
        "timestamp": "2026-01-01T00:00:00+01:00",
        "features": {"x": 1, "c": "k"},
        "prediction": 1,
    }
    r.update(kw)
    return r


def test_a_valid_record_becomes_a_typed_row():
    (row,) = _predictions([rec(score=0.25)])
    pid, ts, num, cat, label, value, score, scores = row
    assert (pid, num, cat, label, value, score, scores) == ("a", [1.0], ["k"], "1", None, 0.25, None)
    assert ts.utcoffset().total_seconds() == 3600


def test_integer_and_boolean_categories_become_text():
    (row,) = _predictions([rec(features={"x": None, "c": True})])
    assert row[2:4] == ([None], ["true"])


@pytest.mark.parametrize(
    "bad, field",
    [
        (rec(features={"x": True, "c": "k"}), "features.x"),
        (rec(prediction_id=""), "prediction_id"),
        (rec(prediction_id=["a"]), "prediction_id"),
        (rec(timestamp="2026-01-01"), "timestamp"),
        (rec(timestamp=1700000000), "timestamp"),
        (rec(score={"0": 0.5}), "score"),
        (rec(score="high"), "score"),
        (rec(features={"x": 1, "c": {"nested": 1}}), "features.c"),
    ],
)
def test_bad_fields_are_named(bad, field):
    with pytest.raises(ValidationFailed) as err:
        _predictions([bad])
    assert field in {d.field for d in err.value.details}


def test_batch_limits():
    with pytest.raises(ValidationFailed):
        _predictions([])
    with pytest.raises(PayloadTooLarge):
        _predictions([rec()] * 10_001)


def test_reserved_feature_names_are_refused():
    with pytest.raises(ValidationFailed) as err:
        model_definition({"name": "m", "task": "regression", "features": [{"name": "label", "type": "numeric"}]})
    assert "features[0].name" in {d.field for d in err.value.details}


def test_a_segmented_models_rows_carry_seg_last_in_slot_order():
    model = Model(1, "m", "binary_classification", MODEL.features, ("0", "1"), segments=("region", "channel"))
    records = [rec(segments={"channel": "web", "region": "eu"}), rec(prediction_id="b"), rec(prediction_id="c")]
    records[2]["segments"] = {"region": None}
    rows = RecordValidator(model).predictions(envelope(records, PREDICTION_FIELDS))
    assert [r[8] for r in rows] == [["eu", "web"], [None, None], [None, None]]
    assert [len(r) for r in _predictions([rec()])] == [8]  # a model without segment fields: as before
