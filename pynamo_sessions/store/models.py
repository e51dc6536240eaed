"""The sessions table as a PynamoDB model, and the factory that binds it to the settings.

PynamoDB fixes attribute names and ``Meta`` when a class is created and caches its connection
(and botocore client) on the class. So the settings-bound class is built once with fresh
attribute objects, shared by every store and thread of the process, and rebuilt only when a
setting it depends on changes.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, cast

import botocore.session
from pynamodb.attributes import Attribute, NumberAttribute, TTLAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.constants import BINARY, STRING
from pynamodb.exceptions import AttributeDeserializationError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from pynamo_sessions import conf
from pynamo_sessions.store import wire

logger = logging.getLogger("pynamo_sessions")

# DynamoDB refuses an item over 400 KB, counting attribute names and values in UTF-8 bytes.
ITEM_SIZE_LIMIT = 400 * 1024
# A DynamoDB number takes at most 21 bytes; our epoch seconds take about 7, we count the worst.
_NUMBER_SIZE = 21
# The request path waits for DynamoDB as set by DYNAMODB_SESSIONS_*_TIMEOUT: about a second at
# worst, so an outage cannot hold every worker thread. Provisioning (which waits for a table to
# become active) and sweeps and imports (which scan or write in bulk) use a model of their own
# with PynamoDB-like patience instead; they resume after throttling on their own.
ADMIN_TIMEOUTS = {"connect_timeout_seconds": 5.0, "read_timeout_seconds": 30.0}
# DynamoDB Local: any region will do (with -sharedDb it ignores it), any letters-and-digits key.
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = ("pynamosessions", "pynamosessions")


class TextAttribute(Attribute[str | bytes]):
    """Text that may be sealed (``store.sealing``): a string (S) as it is, sealed as a binary (B).
    It reads either, so items written before encryption was turned on, or after it was turned
    off, load alike; it writes what its binding was built for: B when encrypting, else S."""

    def __init__(self, *, sealed: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attr_type = BINARY if sealed else STRING

    def get_value(self, value: dict[str, Any]) -> Any:
        for found in (STRING, BINARY):
            if found in value:
                return value[found]
        raise AttributeDeserializationError(self.attr_name, self.attr_type)

    def serialize(self, value: str | bytes) -> str | bytes:
        if isinstance(value, bytes) != (self.attr_type == BINARY):
            # A sealed value written as S (or text as B) would read back as garbage: refuse it.
            raise TypeError(f"{self.attr_name!r} is written as {self.attr_type}; got {type(value).__name__}")
        return value


class SessionItem(Model):
    """One session. The real attributes come from ``build()``; these annotations type them.

    ``key`` is the item's hash key: the session key itself, or its HMAC when
    DYNAMODB_SESSIONS_HASH_KEYS is on.
    """

    # ClassVar makes mypy read them as descriptors: ``SessionItem.key`` is the attribute (for
    # conditions), ``item.key`` its value.
    key: ClassVar[UnicodeAttribute]
    # The signed, encoded session data; sealed (bytes) with DYNAMODB_SESSIONS_ENCRYPT.
    data: ClassVar[TextAttribute]
    expires: ClassVar[TTLAttribute]
    # PynamoDB's optimistic locking: every save is conditional on the version it read and
    # writes the next one, so parallel saves of one session are detected and merged instead of
    # overwriting each other (see backends/dynamodb.py). Items without it (written before it
    # existed, or by the original snippet) are saved on the condition that it is still absent.
    version: ClassVar[VersionAttribute]
    # Written only when DYNAMODB_SESSIONS_TRACK_USERS is on; absent on anonymous sessions so
    # the user index stays sparse.
    # Written only with DYNAMODB_SESSIONS_ABSOLUTE_AGE: when the session was created.
    created: ClassVar[NumberAttribute]
    user_id: ClassVar[UnicodeAttribute]
    updated: ClassVar[NumberAttribute]
    user_agent: ClassVar[TextAttribute]
    ip_address: ClassVar[TextAttribute]
    # The write conditions, built once per bound class rather than on every save.
    must_not_exist: ClassVar[Condition]
    must_exist: ClassVar[Condition]
    # Each attribute's name as stored, in UTF-8 bytes, by its Python name (for size()).
    name_sizes: ClassVar[dict[str, int]]
    # The request path's requests, as far as PynamoDB's builder works them out once (store.wire).
    wire_plan: ClassVar[wire.Plan]

    def size(self) -> int:
        """The item's size as DynamoDB counts it against its 400 KB limit."""
        values = self.attribute_values  # the values set, read without PynamoDB's descriptors
        sizes = self.name_sizes
        # A version is always written: 1 when the item has none yet.
        total = 0 if values.get("version") is not None else sizes["version"] + _NUMBER_SIZE
        for name, value in values.items():
            if value is not None:
                if isinstance(value, str):
                    total += sizes[name] + len(value.encode())
                else:
                    total += sizes[name] + (len(value) if isinstance(value, bytes) else _NUMBER_SIZE)
        return total


@functools.cache
def botocore_session() -> botocore.session.Session:
    """The process's botocore session: the region and credential look-ups below and the request
    path's client share it, so a process creates one session and parses botocore's data files
    once (a second session would parse them all again: about 100 ms of a cold start)."""
    return botocore.session.get_session()


def client_region(snapshot: conf.Snapshot) -> str | None:
    """The region the client signs with: DYNAMODB_REGION, else the standard AWS configuration;
    with only an endpoint (DynamoDB Local), where a region means nothing but botocore still
    refuses to sign without one, LOCAL_REGION."""
    if snapshot.region or not snapshot.endpoint_url:
        return snapshot.region
    return botocore_session().get_config_variable("region") or LOCAL_REGION


def endpoint(snapshot: conf.Snapshot, region: str | None) -> tuple[str | None, str | None]:
    """The region to sign with and the endpoint URL of ``region``'s replica (None: this process's)."""
    if region is None or snapshot.regions is None:
        return client_region(snapshot), snapshot.endpoint_url
    url = snapshot.regions.endpoints[region]
    return region, url


def client_credentials(snapshot: conf.Snapshot, url: str | None = None) -> tuple[str, str] | None:
    """Placeholder credentials when the endpoint (``url``, else this process's) is on this machine
    (DynamoDB Local, which accepts any) and the standard AWS chain has none; None otherwise, so
    botocore's chain decides. The chain is looked up without the instance-metadata and container
    providers, which would wait on the network."""
    url = url or snapshot.endpoint_url
    if not url or not conf.is_on_this_machine(url):
        return None
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return None  # the chain's first provider has them: no need to build the chain
    # A session of its own: taking the network providers out of the shared one's chain would
    # take them from the request path's client too.
    resolver = botocore.session.get_session().get_component("credential_provider")
    for remote in ("iam-role", "container-role"):
        resolver.remove(remote)
    if resolver.load_credentials() is not None:
        return None
    logger.info("No AWS credentials found; using placeholder ones for the local endpoint %s.", url)
    return LOCAL_CREDENTIALS


def build(snapshot: conf.Snapshot, *, admin: bool = False, region: str | None = None) -> type[SessionItem]:
    """Create a new model class bound to the table and attribute names in ``snapshot``; with
    ``admin``, with the patient timeouts of provisioning and sweeps; with ``region``, to that
    Region's replica (DYNAMODB_SESSIONS_REGIONS)."""
    signing_region, url = endpoint(snapshot, region)
    meta: dict[str, Any] = {
        "table_name": snapshot.table_name,
        "region": signing_region,
        "host": url,
        "connect_timeout_seconds": snapshot.connect_timeout,
        "read_timeout_seconds": snapshot.read_timeout,
        "max_retry_attempts": snapshot.max_retry_attempts,
        "max_pool_connections": snapshot.max_pool_connections,
        "billing_mode": snapshot.billing_mode,
    }
    if admin:
        meta.update(ADMIN_TIMEOUTS)
    credentials = client_credentials(snapshot, url)
    if credentials is not None:
        meta["aws_access_key_id"], meta["aws_secret_access_key"] = credentials
    if snapshot.billing_mode == "PROVISIONED":
        meta["read_capacity_units"] = snapshot.read_capacity_units
        meta["write_capacity_units"] = snapshot.write_capacity_units
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": "BoundSessionItem",
        "Meta": type("Meta", (), meta),
        "key": UnicodeAttribute(hash_key=True, attr_name=snapshot.attr_id),
        "data": TextAttribute(sealed=snapshot.encrypt, attr_name=snapshot.attr_data),
        "expires": TTLAttribute(attr_name=snapshot.attr_ttl),
        "version": VersionAttribute(attr_name=snapshot.attr_version),
    }
    if snapshot.absolute_age is not None:
        namespace["created"] = NumberAttribute(null=True, attr_name=snapshot.attr_created)
    if snapshot.track_users:
        attr_user = snapshot.attr_user
        namespace.update(
            user_id=UnicodeAttribute(null=True, attr_name=attr_user),
            updated=NumberAttribute(null=True, attr_name=conf.RESERVED_ATTRIBUTES[0]),
            user_agent=TextAttribute(sealed=snapshot.encrypt, null=True, attr_name=conf.RESERVED_ATTRIBUTES[1]),
            ip_address=TextAttribute(sealed=snapshot.encrypt, null=True, attr_name=conf.RESERVED_ATTRIBUTES[2]),
            by_user=_user_index(snapshot),
        )
    model = cast(type[SessionItem], type("BoundSessionItem", (SessionItem,), namespace))
    model.must_not_exist = model.key.does_not_exist()
    model.must_exist = model.key.exists()
    model.name_sizes = {name: len(attribute.attr_name.encode()) for name, attribute in model.get_attributes().items()}
    model.wire_plan = wire.plan(model)
    _set_retry_mode(model, "standard" if admin else snapshot.retry_mode)
    _share_session(model, credentials)
    return model


def _share_session(model: type[SessionItem], credentials: tuple[str, str] | None) -> None:
    """Have PynamoDB build this thread's client from the process's botocore session instead of a
    new one (PynamoDB keeps a session per thread, ``_local``, and makes one on first use). With
    placeholder credentials (DynamoDB Local) PynamoDB makes its own and sets them on it: the
    shared session is never given credentials that another binding would then inherit."""
    if credentials is None:
        model._get_connection().connection._local.session = botocore_session()


def _set_retry_mode(model: type[SessionItem], mode: str) -> None:
    """PynamoDB hands botocore the number of retries but always in 'standard' mode, and reads
    no mode from ``Meta``; its Connection takes a whole retry configuration, which is set here
    before the client exists. This, ``_local`` (``_share_session``) and ``_get_connection`` are
    the private names we touch."""
    connection = model._get_connection().connection
    connection._retry_configuration = {
        "total_max_attempts": 1 + model.Meta.max_retry_attempts,
        "mode": mode,
    }


#: The user index's sort key: when the session was last saved (epoch seconds), so the index
#: answers a user's sessions most recently used first and a page reads only what it shows. (A
#: table whose index was made before has none; see operations.users.index_is_ordered.)
USER_INDEX_SORT_KEY = conf.RESERVED_ATTRIBUTES[0]


def user_index_projection(snapshot: conf.Snapshot) -> list[str]:
    """The attributes a user's session list shows, copied into the user index (but its sort key,
    which every index holds anyway)."""
    shown = [snapshot.attr_ttl, *conf.RESERVED_ATTRIBUTES, snapshot.attr_created]
    return [name for name in shown if name != USER_INDEX_SORT_KEY]


def _user_index(snapshot: conf.Snapshot) -> GlobalSecondaryIndex[Any]:
    # The columns a user's session list shows are projected, so listing costs one query.
    index_meta: dict[str, Any] = {
        "index_name": snapshot.user_index,
        "projection": IncludeProjection(user_index_projection(snapshot)),
    }
    if snapshot.billing_mode == "PROVISIONED":
        index_meta["read_capacity_units"] = snapshot.read_capacity_units
        index_meta["write_capacity_units"] = snapshot.write_capacity_units
    attrs: dict[str, Any] = {
        "Meta": type("Meta", (), index_meta),
        "user_id": UnicodeAttribute(hash_key=True, attr_name=snapshot.attr_user),
        "updated": NumberAttribute(range_key=True, attr_name=USER_INDEX_SORT_KEY),
    }
    index_class = type("UserIndex", (GlobalSecondaryIndex,), attrs)
    return index_class()  # type: ignore[no-any-return]


def connection_fields(snapshot: conf.Snapshot) -> tuple[Any, ...]:
    # The settings that shape the class or its connection; the others are read per call.
    return (
        snapshot.endpoint_url, snapshot.region, snapshot.table_name, snapshot.attr_id,
        snapshot.attr_ttl, snapshot.attr_data, snapshot.attr_version, snapshot.billing_mode,
        snapshot.read_capacity_units, snapshot.write_capacity_units, snapshot.connect_timeout,
        snapshot.read_timeout, snapshot.max_retry_attempts, snapshot.max_pool_connections,
        snapshot.track_users, snapshot.attr_user, snapshot.user_index, snapshot.retry_mode,
        snapshot.absolute_age is not None, snapshot.attr_created, snapshot.encrypt,
    )


class _Binding:
    snapshot: conf.Snapshot | None = None
    model: type[SessionItem] | None = None


_bindings = {False: _Binding(), True: _Binding()}
_regional: dict[str, _Binding] = {}  # the request path's, by home Region (DYNAMODB_SESSIONS_REGIONS)
# The classes built, by the settings that shaped them: a process whose settings change back (a
# test suite, a benchmark taking turns) reuses the class and its warm client instead of building
# another. A deployed site builds one per kind.
_built: dict[tuple[bool, tuple[Any, ...]], type[SessionItem]] = {}
_BUILT_KEPT = 8
_lock = threading.Lock()


def bound_model(*, admin: bool = False, region: str | None = None) -> type[SessionItem]:
    """The model bound to the current settings, built on first use and after a change.

    The request path uses the default one; ``admin=True`` gives the one for provisioning,
    sweeps and imports, with longer timeouts and more retries; ``region`` the request path's for
    another Region's replica (a session's home, ``keys.home_of_item``).
    """
    snapshot = conf.current()
    if region is None:
        binding = _bindings[admin]
    else:  # made once per Region
        binding = _regional.get(region) or _regional.setdefault(region, _Binding())
    if binding.snapshot is snapshot and binding.model is not None:
        return binding.model
    with _lock:
        built = (admin, connection_fields(snapshot) + ((region, endpoint(snapshot, region)) if region else ()))
        model = _built.get(built)
        if model is None:
            model = _built[built] = build(snapshot, admin=admin, region=region)
            while len(_built) > _BUILT_KEPT:
                del _built[next(iter(_built))]
        binding.model, binding.snapshot = model, snapshot
        return model


def close_connections() -> None:
    """Close the pooled HTTP connections of every bound model's client (after a SnapStart
    restore); the clients open new ones on their next call."""
    with _lock:
        built = list(_built.values())
    for model in built:
        client = model._get_connection().connection._client
        if client is not None:
            client._endpoint.http_session.close()


def data_loader() -> Any:
    """The botocore data loader of the request path's client, which has parsed botocore's data
    files (endpoints, DynamoDB's service model) once: the async transport reads them through it."""
    return bound_model()._get_connection().connection.client._loader


# What PynamoDB raises for a value it cannot deserialize: AttributeDeserializationError (a
# TypeError) for a wrong DynamoDB type, json's ValueError for a number it cannot parse, and
# datetime's OverflowError/OSError/ValueError for an epoch TTL out of range.
DESERIALIZATION_ERRORS = (TypeError, ValueError, OverflowError, OSError)
_reported: set[tuple[str, str]] = set()
_reported_lock = threading.Lock()


def from_raw(model: type[SessionItem], raw: dict[str, Any], *, with_data: bool = True) -> SessionItem | None:
    """The item DynamoDB returned, or None when it holds a value this store cannot use (written
    by another program or a migration): a wrong type in any attribute, a missing TTL, a version
    that is not a whole number (PynamoDB would truncate it, and every conditional save on it
    would then fail). Logged once per process for each attribute and kind, never with the key.
    ``with_data=False`` for the user index's projection, which holds no session data."""
    item = wire.read_item(model, raw)
    if item is not None:
        return item  # the usual shape, each value of its type: every check below holds
    try:
        item = model.from_raw_data(raw)
    except DESERIALIZATION_ERRORS:
        _report(*_diagnose(model, raw))
        return None
    problem = None
    if not isinstance(item.expires, datetime):
        problem = (model.expires.attr_name, "missing")
    elif with_data and not isinstance(item.data, (str, bytes)):
        problem = (model.data.attr_name, "missing")
    else:
        version = (raw.get(model.version.attr_name) or {}).get("N")
        if isinstance(version, str) and not _whole(version):
            problem = (model.version.attr_name, f"N {version!r}, not a whole number")
    if problem is not None:
        _report(*problem)
        return None
    return item


def _whole(number: str) -> bool:
    if number.isdigit():  # what every version this store wrote looks like: no Decimal on a read
        return True
    try:
        return Decimal(number) == Decimal(number).to_integral_value()
    except ArithmeticError:
        return False


def _diagnose(model: type[SessionItem], raw: dict[str, Any]) -> tuple[str, str]:
    """Which attribute of ``raw`` PynamoDB could not read, and what it holds instead."""
    for attribute in model.get_attributes().values():
        value = raw.get(attribute.attr_name)
        if not isinstance(value, dict) or not value:
            continue
        found = next(iter(value))
        readable = (STRING, BINARY) if isinstance(attribute, TextAttribute) else (attribute.attr_type,)
        if found not in readable:
            return attribute.attr_name, f"type {found} (expected {attribute.attr_type})"
        try:
            attribute.deserialize(attribute.get_value(value))
        except DESERIALIZATION_ERRORS as exc:
            return attribute.attr_name, f"{found} value that does not read as one ({type(exc).__name__})"
    return "?", "a value PynamoDB could not read"


def _report(attribute: str, found: str) -> None:
    with _reported_lock:
        if (attribute, found) in _reported:
            return
        _reported.add((attribute, found))
    logger.warning(
        "A session item in the table has attribute %r holding %s; it reads as no session (its cookie "
        "gets a new one) and the sessions pages leave it out. It was written by another program or a "
        "migration: fix or delete such items. (Logged once per process for each attribute and kind.)",
        attribute, found,
    )


def capacity_units(size: int, *, consistent: bool) -> float:
    """Read capacity a GetItem of an item this size costs, by DynamoDB's published rule."""
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2
