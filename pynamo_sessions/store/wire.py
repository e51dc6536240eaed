"""The request path's GetItem, PutItem and DeleteItem, put together from what PynamoDB works out
once per bound model.

PynamoDB's ``save()`` serialises every attribute through its descriptors and builds the version
condition as expression objects, given fresh placeholders and serialised again on every call; its
reads deserialise through the same machinery. That was most of what a request cost beyond a
hand-written botocore store. A session item has one shape, so each bound model asks PynamoDB's
own builder, once, for its three write conditions (a create; an update at a version; an update of
an item without a version yet), and the requests are assembled here from those: the very kwargs
PynamoDB would hand botocore (``tests/test_wire.py`` compares them case by case). An item of any
other shape returns None and goes through PynamoDB's builder, so its own errors are raised. Both
drivers send what this builds: the sync one through PynamoDB's connection (its signals and its
capacity default), the async one with aiobotocore.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pynamo_sessions.store.models import SessionItem

# The attributes every item has; the others (created, user_id, ...) are serialised by their own
# attribute, as PynamoDB serialises them.
_CORE = ("key", "data", "expires", "version")


class Plan(NamedTuple):
    """A bound model's requests, as far as they do not depend on the item."""

    table: str
    attr_id: str
    attr_data: str
    data_type: str  # "S", or "B" when the data is sealed
    attr_ttl: str
    attr_version: str
    others: tuple[tuple[str, Any], ...]  # (Python name, attribute) of the other attributes
    create: tuple[str, dict[str, str]]  # ConditionExpression and ExpressionAttributeNames
    update_first: tuple[str, dict[str, str]]  # an update of an item that has no version yet
    update: tuple[str, dict[str, str]]  # an update at a version (its value is the item's)
    version_value: str  # the ExpressionAttributeValues placeholder of that version


def plan(model: type[SessionItem]) -> Plan:
    """Ask PynamoDB's builder, once, what the conditions of this model's writes look like."""
    version = model.version

    def built(condition: Any) -> dict[str, Any]:
        return model._get_connection().connection.get_operation_kwargs(
            model.Meta.table_name, "k", key="Item", condition=condition)

    def expression(condition: Any) -> tuple[str, dict[str, str]]:
        kwargs = built(condition)
        return kwargs["ConditionExpression"], kwargs["ExpressionAttributeNames"]

    at_version = built(None & (version == 0))  # as save() ANDs it to our half, which is None here
    ((placeholder, value),) = at_version["ExpressionAttributeValues"].items()
    assert value == {"N": "0"}, value
    return Plan(
        table=model.Meta.table_name,
        attr_id=model.key.attr_name,
        attr_data=model.data.attr_name,
        data_type=model.data.attr_type,
        attr_ttl=model.expires.attr_name,
        attr_version=version.attr_name,
        others=tuple((name, attribute) for name, attribute in model.get_attributes().items() if name not in _CORE),
        create=expression(model.must_not_exist),
        update_first=expression(model.must_exist & version.does_not_exist()),
        update=(at_version["ConditionExpression"], at_version["ExpressionAttributeNames"]),
        version_value=placeholder,
    )


def key_request(model: type[SessionItem], item_key: str) -> dict[str, Any]:
    """The TableName and Key of a GetItem or DeleteItem."""
    return {"TableName": model.wire_plan.table, "Key": {model.wire_plan.attr_id: {"S": item_key}}}


def put_request(item: SessionItem, must_create: bool) -> dict[str, Any] | None:
    """What ``item.save(condition=ops.Put.condition(), add_version_condition=not must_create)``
    sends, the next version included; None for an item not of the usual shape."""
    p = type(item).wire_plan
    values = item.attribute_values
    key, data, expires, version = (values.get(name) for name in _CORE)
    if (type(key) is not str or type(data) is not (str if p.data_type == "S" else bytes)
            or type(expires) is not datetime or not (version is None or type(version) is int)):
        return None
    attributes: dict[str, Any] = {
        p.attr_id: {"S": key},
        p.attr_data: {p.data_type: data},
        # TTLAttribute's serialize() of the whole-second UTC time its __set__ keeps.
        p.attr_ttl: {"N": str(calendar.timegm(expires.utctimetuple()))},
        p.attr_version: {"N": str(1 if version is None else version + 1)},
    }
    for name, attribute in p.others:
        value = values.get(name)
        serialized = None if value is None else attribute.serialize(value)
        if serialized is None:
            if not attribute.null:
                return None  # PynamoDB's builder raises its AttributeNullError
            continue
        attributes[attribute.attr_name] = {attribute.attr_type: serialized}
    expression, names = p.create if must_create else p.update_first if version is None else p.update
    request: dict[str, Any] = {"TableName": p.table, "Item": attributes, "ConditionExpression": expression,
                               "ExpressionAttributeNames": dict(names)}
    if not must_create and version is not None:
        request["ExpressionAttributeValues"] = {p.version_value: {"N": str(version)}}
    return request


def written(item: SessionItem) -> None:
    """What ``save()`` does to the item once it is written: its version moves on."""
    values = item.attribute_values
    values["version"] = (values.get("version") or 0) + 1


def _whole(text: Any) -> bool:
    # What json.loads reads as an int and str() writes back unchanged: digits, no leading zero.
    return type(text) is str and text.isascii() and text.isdigit() and (text[0] != "0" or len(text) == 1)


def read_item(model: type[SessionItem], raw: dict[str, Any]) -> SessionItem | None:
    """The item ``from_raw_data`` makes of ``raw``, for an item of the usual shape (key, data, TTL
    and a version, each of its type, nothing else); None for any other, which then goes through
    PynamoDB (and its checks and diagnostics)."""
    p = model.wire_plan
    if not 3 <= len(raw) <= 4:
        return None
    key, data, ttl, version = raw.get(p.attr_id), raw.get(p.attr_data), raw.get(p.attr_ttl), raw.get(p.attr_version)
    if len(raw) != (3 if version is None else 4):
        return None
    if not (_single(key, "S") and _single(ttl, "N") and (_single(data, "S") or _single(data, "B"))):
        return None
    if version is not None and not (_single(version, "N") and _whole(version["N"])):
        return None
    key_text, ttl_text, (stored,) = key["S"], ttl["N"], data.values()  # type: ignore[index,union-attr]
    if type(key_text) is not str or not _whole(ttl_text) or type(stored) not in (str, bytes):
        return None
    try:
        expires = datetime.fromtimestamp(int(ttl_text), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    item = model.__new__(model)
    values: dict[str, Any] = {"key": key_text, "data": stored, "expires": expires}
    if version is not None:
        values["version"] = int(version["N"])
    item.attribute_values = values
    return item


def _single(value: Any, kind: str) -> bool:
    return type(value) is dict and len(value) == 1 and kind in value


def new_item(model: type[SessionItem], item_key: str, attributes: dict[str, Any]) -> SessionItem:
    """``model(item_key, **attributes)``, the same item (its TTL kept as TTLAttribute keeps it: a
    whole-second UTC datetime), without PynamoDB's constructor and descriptors for the usual
    attributes; the others are set through their own descriptors."""
    expires, version = attributes.get("expires"), attributes.get("version")
    if (type(expires) is not datetime or expires.tzinfo is None  # TTLAttribute's own error for a naive one
            or not (version is None or type(version) is int)):
        return model(item_key, **attributes)
    item = model.__new__(model)
    values: dict[str, Any] = {"key": item_key}
    item.attribute_values = values
    for name, value in attributes.items():
        if name == "expires":
            values[name] = datetime.fromtimestamp(calendar.timegm(value.utctimetuple()), tz=UTC)
        elif name in ("data", "version"):
            values[name] = value
        else:
            setattr(item, name, value)
    return item
