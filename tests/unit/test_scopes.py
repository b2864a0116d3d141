"""The scope rule and the parsing of `seia key create --scope/--expires`, without a database."""

from datetime import UTC, datetime

import pytest

from seia import scopes
from seia.errors import Forbidden, ValidationFailed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "method, path, needs",
    [
        ("GET", "/v1/models/{model}/alerts", {"read"}),
        ("HEAD", "/v1/models", {"read"}),
        ("POST", "/v1/models/{model}/predictions", {"ingest"}),
        ("post", "/v1/models/{model}/reference", {"ingest"}),
        # Anything else, and what other developers add next, is admin until it declares otherwise.
        ("PUT", "/v1/models/{model}/reference", {"admin"}),
        ("DELETE", "/v1/models/{model}", {"admin"}),
        ("PATCH", "/v1/models/{model}", {"admin"}),
        ("POST", "/v1/models/{model}/alerts/{alert_id}/resolve", {"admin"}),
        ("POST", "/v1/models/{model}/predictions/replay", {"admin"}),
        ("POST", "/v1/models", {"admin"}),
    ],
)
def test_the_default_rule(method, path, needs):
    assert scopes.required(method, path) == needs


def test_admin_may_do_everything_and_the_403_names_what_is_held_and_needed():
    scopes.check(["admin"], "DELETE", "/v1/models/{model}")
    scopes.check(["ingest"], "GET", "/v1/models/{model}", declared={"read", "ingest"})
    with pytest.raises(Forbidden) as caught:
        scopes.check(["read", "ingest"], "PUT", "/v1/models/{model}/settings")
    assert caught.value.status == 403
    assert caught.value.message == "this key has scopes ingest, read; PUT /v1/models/{model}/settings needs admin"
    with pytest.raises(Forbidden) as caught:
        scopes.check(["ingest"], "GET", "/v1/models/{model}/drift", declared={"read", "admin"})
    assert caught.value.message == "this key has scope ingest; GET /v1/models/{model}/drift needs read or admin"


@pytest.mark.parametrize(
    "values, held",
    [(["read"], ["read"]), (["admin,read", "ingest"], ["ingest", "read", "admin"]), ([" Read , "], ["read"])],
)
def test_scopes_are_parsed_from_repeated_flags_and_comma_lists(values, held):
    assert scopes.parse(values) == held


@pytest.mark.parametrize("values, field", [([], "--scope"), ([","], "--scope"), (["read,write"], "--scope")])
def test_no_scope_or_an_unknown_one_is_refused(values, field):
    with pytest.raises(ValidationFailed) as caught:
        scopes.parse(values)
    assert [d.field for d in caught.value.details] == [field]


@pytest.mark.parametrize(
    "value, expires",
    [
        ("90d", datetime(2027, 2, 28, 12, 0, tzinfo=UTC)),
        ("12h", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T08:00:00+02:00", datetime(2027, 1, 31, 6, 0, tzinfo=UTC)),
        ("3650d", datetime(2036, 11, 27, 12, 0, tzinfo=UTC)),
    ],
)
def test_expiry_is_a_duration_or_a_date(value, expires):
    assert scopes.parse_expiry(value, NOW) == expires


@pytest.mark.parametrize(
    "value, reason",
    [
        ("0d", "not in the future"),
        ("2026-11-30", "not in the future"),
        ("3651d", "too far away"),
        ("9" * 40 + "h", "too far away"),  # no OverflowError
        ("١٢h", "neither a duration nor a date"),  # unicode digits are not a number of hours
        ("90m", "neither a duration nor a date"),
        ("9999-12-31T23:00:00-05:00", "too far away"),  # UTC year 10000: compared, never converted
        ("d", "neither a duration nor a date"),
        ("", "neither a duration nor a date"),
    ],
)
def test_an_expiry_that_cannot_be_honoured_is_refused_naming_the_flag(value, reason):
    with pytest.raises(ValidationFailed) as caught:
        scopes.parse_expiry(value, NOW)
    assert reason in caught.value.message and [d.field for d in caught.value.details] == ["--expires"]
