"""A file's columns checked against the model, column-wise, with the rows of the first problems."""

import pyarrow as pa
import pytest

from seia.schema import Feature, Model
from seia_files.columns import NO_TIMESTAMP, PG_EPOCH_US, ChunkValidator, FileColumns
from seia_files.errors import FileRejected

CHURN = Model(
    1, "churn", "binary_classification", (Feature("age", "numeric"), Feature("plan", "categorical")), ("stay", "churn")
)
SPECIES = Model(2, "species", "multiclass_classification", (Feature("x", "numeric"),), ("a", "b", "c"))
PRICE = Model(3, "price", "regression", (Feature("x", "numeric"),), None)


def chunk(**columns):
    return pa.table({k: pa.array(v) for k, v in columns.items()})


def good(n=3, **changes):
    cols = dict(
        prediction_id=[f"p{i}" for i in range(n)],
        timestamp=["2026-11-01T10:00:00Z"] * n,
        age=[str(30 + i) for i in range(n)],
        plan=["pro"] * n,
        prediction=["stay"] * n,
        score=["0.5"] * n,
    )
    cols.update(changes)
    return chunk(**cols)


def validate(model, kind, table, first_row=1):
    columns = FileColumns(model, kind)
    layout = columns.layout(columns.check_header(table.schema.names))
    return ChunkValidator(layout).validate(table, first_row)


def rejected(model, kind, table, first_row=1):
    with pytest.raises(FileRejected) as caught:
        validate(model, kind, table, first_row)
    return [(e.row, e.column, e.message) for e in caught.value.errors]


def test_a_valid_chunk_becomes_staging_columns():
    out = validate(CHURN, "predictions", good(), first_row=101)
    assert out["row_no"].to_pylist() == [101, 102, 103]
    assert out["n0"].to_pylist() == [30.0, 31.0, 32.0]
    assert out["c0"].to_pylist() == ["pro"] * 3
    assert out["ts"][0].as_py() == 1_793_527_200_000_000 - PG_EPOCH_US


def test_row_numbers_of_bad_values_count_from_the_chunks_first_row():
    errors = rejected(CHURN, "predictions", good(5, age=["1", "2", "x", "4", "nan"]), first_row=70_000)
    assert errors == [(70_002, "age", "'x' is not a number"), (70_004, "age", "must be a finite number")]


@pytest.mark.parametrize(
    "column, values, message",
    [
        ("timestamp", ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00", "2026-11-01T10:00:00Z"], "with an offset"),
        ("prediction", ["stay", "maybe", "stay"], "'maybe' is not one of the model's labels"),
        ("prediction", ["stay", None, "stay"], "missing"),
        ("score", ["0.5", "1.01", "0.5"], "must be a probability in [0, 1]"),
        ("prediction_id", ["p0", "", "p2"], "must be 1 to 200 characters"),
        ("prediction_id", ["p0", "x" * 201, "p2"], "must be 1 to 200 characters"),
        ("plan", ["pro", "a\x00b", "pro"], "no NUL character"),
    ],
)
def test_each_rule_names_row_and_column(column, values, message):
    [(row, col, text)] = rejected(CHURN, "predictions", good(**{column: values}))
    assert (row, col) == (2, column) and message in text


def test_empty_cells_are_missing_values_where_the_api_allows_null():
    out = validate(CHURN, "predictions", good(2, age=[None, "3"], plan=[None, "pro"], score=[None, "0.1"]))
    assert str(out["n0"][0].as_py()) == "nan"  # the NULL sentinel of fixed-width columns
    assert out["c0"].to_pylist() == [None, "pro"]


def test_header_problems_are_all_listed():
    columns = FileColumns(CHURN, "predictions")
    with pytest.raises(FileRejected) as caught:
        columns.check_header(["prediction_id", "timestamp", "age", "age", "height", "prediction"])
    found = {(e.column, e.message.split(" (")[0]) for e in caught.value.errors}
    assert found == {("age", "duplicate column"), ("height", "unknown column"), ("plan", "missing column")}


def test_multiclass_files_give_one_score_column_per_class_or_none():
    table = chunk(
        prediction_id=["p"],
        timestamp=["2026-11-01T00:00:00Z"],
        x=[1.0],
        prediction=["b"],
        score_a=[0.2],
        score_b=[0.5],
        score_c=[0.3],
    )
    out = validate(SPECIES, "predictions", table)
    assert [out[s][0].as_py() for s in ("s0", "s1", "s2")] == [0.2, 0.5, 0.3]
    with pytest.raises(FileRejected) as caught:
        FileColumns(SPECIES, "predictions").check_header(["prediction_id", "timestamp", "x", "prediction", "score_a"])
    assert {e.column for e in caught.value.errors} == {"score_b", "score_c"}
    with pytest.raises(FileRejected):
        FileColumns(SPECIES, "predictions").check_header(["prediction_id", "timestamp", "x", "prediction", "score"])


def test_regression_predictions_are_numbers_and_take_no_score():
    table = chunk(prediction_id=["p"], timestamp=["2026-11-01T00:00:00Z"], x=[1.0], prediction=["12.5"])
    assert validate(PRICE, "predictions", table)["prediction_value"].to_pylist() == [12.5]
    with pytest.raises(FileRejected):
        FileColumns(PRICE, "predictions").check_header(["prediction_id", "timestamp", "x", "prediction", "score"])


def test_ground_truths_need_id_and_label_and_may_have_a_timestamp():
    out = validate(
        CHURN,
        "ground-truths",
        chunk(prediction_id=["a", "b"], label=["churn", "stay"], timestamp=[None, "2026-11-01T00:00:00+01:00"]),
    )
    assert out["ts"][0].as_py() == NO_TIMESTAMP
    errors = rejected(CHURN, "ground-truths", chunk(prediction_id=["a"], label=[None]))
    assert errors == [(1, "label", "missing")]


def test_typed_columns_from_parquet():
    table = pa.table(
        {
            "prediction_id": pa.array([1, 2], pa.int64()),
            "timestamp": pa.array([0, 1_000_000], pa.timestamp("us", "Europe/Paris")),
            "age": pa.array([1, None], pa.int16()),
            "plan": pa.array(["a", "b"]).dictionary_encode(),
            "prediction": ["stay", "churn"],
            "score": pa.array([0.1, 0.9], pa.float32()),
        }
    )
    out = validate(CHURN, "predictions", table)
    assert out["prediction_id"].to_pylist() == ["1", "2"]
    assert out["ts"].to_pylist() == [-PG_EPOCH_US, 1_000_000 - PG_EPOCH_US]
    naive = table.set_column(1, "timestamp", pa.array([0, 1], pa.timestamp("us")))
    assert "no UTC offset" in rejected(CHURN, "predictions", naive)[0][2]


def test_at_most_100_problems_are_listed():
    n = 500
    errors = rejected(CHURN, "predictions", good(n, age=["x"] * n))
    assert len(errors) == 100 and errors[0][0] == 1 and errors[-1][0] == 100


SEGMENTED = Model(
    4,
    "churn",
    "binary_classification",
    (Feature("age", "numeric"), Feature("plan", "categorical")),
    ("stay", "churn"),
    segments=("region", "model_version"),
)


def test_segment_columns_are_optional_text_staged_in_slot_order():
    out = validate(SEGMENTED, "predictions", good(model_version=["v1", None, "v3"]))
    columns = FileColumns(SEGMENTED, "predictions")
    layout = columns.layout(columns.check_header(good(model_version=["v1"] * 3).schema.names))
    assert layout.segments == (None, "g1")  # region absent: missing on every row
    assert out["g1"].to_pylist() == ["v1", None, "v3"]
    assert "region" in columns.text_columns and "model_version" in columns.text_columns
    assert FileColumns(SEGMENTED, "ground-truths").layout(["prediction_id", "label"]).segments == ()


def test_a_bad_segment_value_names_row_and_column_and_a_typed_column_is_refused():
    errors = rejected(SEGMENTED, "predictions", good(region=["eu", "x" * 201, "us"]), first_row=11)
    assert errors == [(12, "region", "at most 200 characters, no NUL character")]
    errors = rejected(SEGMENTED, "predictions", good(model_version=[1, 2, 3]))
    assert errors == [(None, "model_version", "a segment field's values must be text, not int64")]
