"""store.wire builds the request path's requests itself: they must be exactly what PynamoDB's own
builder makes of the same item (the kwargs it hands botocore), for every shape of item the stores
write, and its reads exactly what ``from_raw_data`` makes. No DynamoDB needed: both sides are
compared before anything is sent."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from pynamo_sessions.store import models, ops, wire

AT = datetime(2030, 5, 6, 7, 8, 9, 654321, tzinfo=UTC)
SETTINGS = {
    "plain": {},
    "renamed": {"DYNAMODB_SESSIONS_ATTR_ID": "pk", "DYNAMODB_SESSIONS_ATTR_TTL": "expires_at",
                "DYNAMODB_SESSIONS_ATTR_SESSION_DATA": "blob", "DYNAMODB_SESSIONS_ATTR_VERSION": "v"},
    "tracked": {"DYNAMODB_SESSIONS_TRACK_USERS": True, "DYNAMODB_SESSIONS_ABSOLUTE_AGE": 3600},
    "encrypted": {"DYNAMODB_SESSIONS_ENCRYPT": True, "DYNAMODB_SESSIONS_TRACK_USERS": True},
}


def pynamodb_request(item: models.SessionItem, must_create: bool) -> dict[str, Any]:
    """What PynamoDB's save() would hand botocore for ``item`` (without sending it)."""
    put = ops.Put(item, must_create)
    args, kwargs = item._get_save_args(condition=put.condition(), add_version_condition=put.add_version_condition)
    kwargs["key"] = "Item"
    return type(item)._get_connection().get_operation_kwargs(*args, **kwargs)  # type: ignore[no-any-return]


def items(setting: str) -> list[dict[str, Any]]:
    data: list[str | bytes] = ["", "e30:1tQ6qK:sig", "ünïcødé ✓ " * 40]
    if setting == "encrypted":
        data = [b"", b"\x01" + bytes(range(256))]
    extra: list[dict[str, Any]] = [{}]
    if setting == "tracked":
        extra = [{}, {"created": 1_700_000_000.5}, {"user_id": "42", "updated": 1_700_000_001, "created": 1.0,
                                                      "user_agent": "Firefox ✓", "ip_address": "203.0.113.0/24"}]
    if setting == "encrypted":
        extra = [{}, {"user_id": "7", "updated": 5, "user_agent": b"\x01ua", "ip_address": b"\x01ip"}]
    expiries = [AT, AT.astimezone(timezone(timedelta(hours=-5, minutes=-30)))]
    return [{"data": d, "expires": e, **x, **({} if v is None else {"version": v})}
            for d, e, x, v in itertools.product(data, expiries, extra, [None, 1, 7, 12345678901])]


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_request_is_the_one_pynamodb_would_send(settings: Any, setting: str) -> None:
    for name, value in SETTINGS[setting].items():
        setattr(settings, name, value)
    model = models.bound_model()
    compared = 0
    for attributes, must_create in itertools.product(items(setting), [True, False]):
        ours = wire.new_item(model, "k" * 32, dict(attributes))
        theirs = model("k" * 32, **attributes)
        assert ours.attribute_values == theirs.attribute_values, attributes
        assert wire.put_request(ours, must_create) == pynamodb_request(theirs, must_create), (attributes, must_create)
        wire.written(ours)
        theirs.update_local_version_attribute()
        assert ours.version == theirs.version
        compared += 1
    assert compared == len(items(setting)) * 2
    assert wire.key_request(model, "abc") == {
        name: value for name, value in model._get_connection().get_operation_kwargs("abc").items()}


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_item_read_is_the_one_pynamodb_would_make(settings: Any, setting: str) -> None:
    for name, value in SETTINGS[setting].items():
        setattr(settings, name, value)
    model = models.bound_model()
    for attributes in items(setting):
        request = pynamodb_request(model("k" * 32, **attributes), False)
        raw = request["Item"]
        fast = wire.read_item(model, raw)
        slow = model.from_raw_data(raw)
        assert models.from_raw(model, raw).attribute_values == slow.attribute_values  # type: ignore[union-attr]
        if fast is not None:
            assert fast.attribute_values == slow.attribute_values


@pytest.mark.parametrize("raw", [
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "1.5"}},  # not a whole number
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "017"}},  # json would refuse it
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "-5"}},
    {"id": {"S": "k"}, "session_data": {"N": "5"}, "ttl": {"N": "5"}},  # data of another type
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "5"}, "version": {"N": "1.0"}},
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "5"}, "version": {"NULL": True}},
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "99999999999999999999"}},  # out of range
    {"id": {"S": "k"}, "session_data": {"S": "x"}},  # no TTL
    {"id": {"S": "k"}, "session_data": {"S": "x"}, "ttl": {"N": "5"}, "other": {"S": "y"}},  # another attribute
])
def test_an_item_of_another_shape_is_left_to_pynamodb(raw: dict[str, Any]) -> None:
    assert wire.read_item(models.bound_model(), raw) is None


def test_an_item_of_another_shape_is_written_by_pynamodbs_builder() -> None:
    model = models.bound_model()
    item = model("k" * 32, data="x", expires=AT)
    item.attribute_values["version"] = 1.5  # what no store writes: PynamoDB decides
    assert wire.put_request(item, False) is None
    assert ops.Put(item, False).request() == pynamodb_request(item, False)  # what both drivers then send
    naive = {"data": "x", "expires": datetime(2030, 1, 1)}  # naive: the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        wire.new_item(model, "k" * 32, naive)  # TTLAttribute's own error
