"""What an object key means, and where its result goes."""

import pytest

from seia_files import keys
from seia_files.errors import FileRejected


@pytest.mark.parametrize(
    "key, kind, name, fmt, compression",
    [
        ("acme/churn/predictions/a.csv", "predictions", "a.csv", "csv", None),
        ("acme/churn/ground-truths/2026/11/01.csv.gz", "ground-truths", "2026/11/01.csv.gz", "csv", "gzip"),
        ("acme/churn/reference/train.PARQUET", "reference", "train.PARQUET", "parquet", None),
        ("acme/churn/predictions/x.jsonl", "predictions", "x.jsonl", "jsonl", None),
        ("acme/churn/predictions/x y.jsonl.gz", "predictions", "x y.jsonl.gz", "jsonl", "gzip"),
    ],
)
def test_a_data_key_names_tenant_model_kind_and_format(key, kind, name, fmt, compression):
    location = keys.parse(key)
    assert (location.tenant, location.model, location.kind, location.name) == ("acme", "churn", kind, name)
    assert (location.format, location.compression) == (fmt, compression)
    assert location.result_key == f"acme/churn/_results/{kind}/{name}.json"


@pytest.mark.parametrize(
    "key, text",
    [
        ("acme/churn/a.csv", "must be <tenant>/<model>/<kind>/<name>"),
        ("acme/churn/predictions/", "must be <tenant>/<model>/<kind>/<name>"),
        ("acme//predictions/a.csv", "must be <tenant>/<model>/<kind>/<name>"),
        ("Acme/churn/predictions/a.csv", "unknown tenant"),
        ("acme/Churn!/predictions/a.csv", "unknown model"),
        ("acme/churn/labels/a.csv", "unknown kind 'labels'"),
        ("acme/churn/predictions/a.xlsx", "unsupported file name"),
        ("acme/churn/predictions/.csv", "unsupported file name"),
        ("acme/churn/predictions/a.csv.zip", "unsupported file name"),
    ],
)
def test_a_malformed_key_is_rejected_saying_why(key, text):
    with pytest.raises(FileRejected) as caught:
        keys.parse(key)
    assert text in caught.value.errors[0].message
    assert caught.value.errors[0].row is None


@pytest.mark.parametrize(
    "key, expected",
    [
        ("acme/churn/predictions/a.csv", False),
        ("acme/churn/_results/predictions/a.csv.json", True),
        ("acme/_results/x.csv.json", True),
        ("_results/x.json", True),
        ("acme/churn/predictions/_results_of_march.csv", False),
    ],
)
def test_result_keys_are_recognised_wherever_the_segment_is(key, expected):
    assert keys.is_result_key(key) is expected


@pytest.mark.parametrize(
    "key, result",
    [
        ("acme/churn/forecasts/a.csv", "acme/churn/_results/forecasts/a.csv.json"),
        ("acme/a.csv", "acme/_results/a.csv.json"),
        ("acme/churn/a.csv", "acme/_results/churn/a.csv.json"),
        ("a.csv", None),
    ],
)
def test_even_a_malformed_key_gets_a_result_under_its_tenant_prefix(key, result):
    assert keys.result_key_for(key) == result
    if result:
        assert keys.is_result_key(result)
