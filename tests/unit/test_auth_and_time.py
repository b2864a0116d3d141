import pytest

from seia import auth
from seia.errors import Unauthorized
from seia.jsonutil import JSONError, loads
from seia.timeutil import parse_rfc3339


def test_new_keys_have_a_public_prefix_and_a_hash_that_verifies():
    k = auth.new_key()
    assert auth.key_prefix(k.key) == k.prefix
    assert auth.matches(k.key, k.key_hash)
    assert not auth.matches(k.key + "x", k.key_hash)
    assert k.key not in k.key_hash.hex()


def test_prefix_forms_are_normalised():
    assert auth.normalise_prefix("seia_0123456789") == "0123456789"
    assert auth.normalise_prefix("0123456789") == "0123456789"
    assert auth.normalise_prefix("seia_0123456789_" + "a" * 43) == "0123456789"


def test_bearer_header_is_required():
    with pytest.raises(Unauthorized):
        auth.bearer_key({})
    assert auth.bearer_key({"authorization": "Bearer abc"}) == "abc"


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123+05:30", "2026-01-02t03:04:05-00:00"])
def test_rfc3339_with_offset(text):
    assert parse_rfc3339(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05", "2026-01-02", "02/01/2026 03:04", ""])
def test_rfc3339_without_offset_or_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


@pytest.mark.parametrize("raw", ["NaN", "[Infinity]", '{"a": -Infinity}', "{", ""])
def test_strict_json(raw):
    with pytest.raises(JSONError):
        loads(raw)
