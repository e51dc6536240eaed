"""Every setting pynamo_sessions reads, with its default and meaning.

Settings are read from ``django.conf.settings`` each time they are asked for, never copied at
import, so ``override_settings`` and the ``setting_changed`` signal just work. The request path
does not read them one by one: it asks for ``current()``, a validated snapshot that is cached
until a ``DYNAMODB_*`` setting changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Generic, NamedTuple, TypeVar, overload
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from pynamo_sessions.conf import values
from pynamo_sessions.conf.values import Check

T = TypeVar("T")

BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")
ON_UNAVAILABLE_CHOICES = ("raise", "anonymous")
ASYNC_TRANSPORTS = ("auto", "native", "thread")
CLIENT_IP_CHOICES = ("full", "truncated", "none")
#: What a session whose home Region is unavailable does (DYNAMODB_SESSIONS_HOME_UNAVAILABLE).
READ_LOCALLY, WRITE_LOCALLY = HOME_UNAVAILABLE_CHOICES = ("read-locally", "write-locally")
#: The SESSION_ENGINE values that mean "sessions in DynamoDB".
ENGINES = ("pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb")
CACHED_ENGINE = ENGINES[1]
LOOPBACK_HOSTS = frozenset({"localhost", "::1", "[::1]"})
# The request path's timeouts when they are not set and the endpoint is on this machine
# (DynamoDB Local in development and in test suites): a JVM on a busy laptop or CI runner
# can pause for longer than production's fast-fail 0.5 s, and a test suite must not fail
# because the machine was busy. Set the two settings to test fast failure locally.
LOCAL_CONNECT_TIMEOUT = 2.0
LOCAL_READ_TIMEOUT = 10.0


def on_lambda() -> bool:
    """Whether this process is an AWS Lambda execution environment (the runtime sets this)."""
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def is_on_this_machine(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class Setting(Generic[T]):
    """One Django setting: its name, default, check and the meaning the documentation shows."""

    def __init__(self, name: str, default: T, check: Check, meaning: str, *, since: str = "0.1.0",
                 hint: str = "", secret: bool = False) -> None:
        self.name = name
        self.default = default
        self.check = check
        self.meaning = meaning
        self.since = since  # the release that brought it (the reference shows it)
        self.hint = hint  # how to fix a bad value, beyond its meaning (the settings check shows it)
        self.secret = secret  # never shown in a message: not even a bad value

    @property
    def kind(self) -> str:
        """The type of value it takes, as the reference shows it."""
        return values.kind(self.check)

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return getattr(settings, self.name, self.default)

    def is_set(self) -> bool:
        return hasattr(settings, self.name)

    def problem(self) -> str | None:
        """Return a full sentence describing what is wrong with the current value, or None."""
        value = getattr(settings, self.name, self.default)
        reason = self.check(value)
        if reason is None:
            return None
        got = f"a {type(value).__name__} (not shown: it holds secrets)" if self.secret else repr(value)
        return f"{self.name} {reason}; got {got}."


class Conf:
    """Lazy, typed access to each setting: ``conf.TABLE`` reads DYNAMODB_SESSIONS_TABLE now."""

    # The six settings of the original dynamodb_session.py snippet, with its meanings.
    LOCAL_ENDPOINT: Setting[str | None] = Setting(
        "DYNAMODB_LOCAL_ENDPOINT", None, values.optional_url,
        "URL of a DynamoDB endpoint such as DynamoDB Local; when set, the backend talks to it.",
    )
    REGION: Setting[str | None] = Setting(
        "DYNAMODB_REGION", None, values.optional_name,
        "AWS region of the table; None uses the standard AWS configuration chain.",
    )
    TABLE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_TABLE", "django_sessions", values.table_name, "Name of the sessions table."
    )
    ATTR_ID: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_ID", "id", values.attribute_name,
        "Name of the session key attribute (the table's string hash key).",
    )
    ATTR_TTL: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_TTL", "ttl", values.attribute_name,
        "Name of the expiry attribute (epoch seconds) that the table's TTL is enabled on.",
    )
    ATTR_SESSION_DATA: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_SESSION_DATA", "session_data", values.attribute_name,
        "Name of the attribute holding the signed, encoded session data.",
    )
    # Our own settings.
    CONSISTENT_READ: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_CONSISTENT_READ", True, values.boolean,
        "Strongly consistent reads, so a request sees the write of the one before it. "
        "False halves read cost but a fresh write may not be seen for about a second.",
    )
    BILLING_MODE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_BILLING_MODE", "PAY_PER_REQUEST", values.one_of(BILLING_MODES),
        "Billing mode used when the table is created: 'PAY_PER_REQUEST' or 'PROVISIONED'.",
    )
    READ_CAPACITY_UNITS: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_READ_CAPACITY_UNITS", 5, values.positive_int,
        "Read capacity units when the billing mode is 'PROVISIONED'.",
    )
    WRITE_CAPACITY_UNITS: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_WRITE_CAPACITY_UNITS", 5, values.positive_int,
        "Write capacity units when the billing mode is 'PROVISIONED'.",
    )
    CONNECT_TIMEOUT: Setting[float] = Setting(
        "DYNAMODB_SESSIONS_CONNECT_TIMEOUT", 0.5, values.positive_seconds,
        "Seconds to wait for a connection to DynamoDB on the request path (unset, with an "
        "endpoint on this machine: 2).",
    )
    READ_TIMEOUT: Setting[float] = Setting(
        "DYNAMODB_SESSIONS_READ_TIMEOUT", 0.5, values.positive_seconds,
        "Seconds to wait for DynamoDB's answer on the request path (unset, with an endpoint "
        "on this machine: 10).",
    )
    MAX_RETRY_ATTEMPTS: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS", 1, values.non_negative_int,
        "Retries after a throttled, failed or timed-out call, with botocore's backoff; a call "
        "that gets no answer waits at most about (1 + retries) x (connect or read timeout).",
    )
    RETRY_MODE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_RETRY_MODE", "standard", values.retry_mode,
        "botocore's retry mode: 'standard' (the only one: see 'One hot key slows no one else').",
    )
    BREAKER_THRESHOLD: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_BREAKER_THRESHOLD", 3, values.non_negative_int,
        "Failed calls (no answer, 5xx, throttling past the retries) in a row, or within the window "
        "and at least half of its calls, that open the circuit breaker. 0 switches it off.",
    )
    BREAKER_WINDOW: Setting[float] = Setting(
        "DYNAMODB_SESSIONS_BREAKER_WINDOW", 10.0, values.positive_seconds,
        "Seconds over which the circuit breaker counts failures.",
    )
    BREAKER_COOLDOWN: Setting[float] = Setting(
        "DYNAMODB_SESSIONS_BREAKER_COOLDOWN", 3.0, values.positive_seconds,
        "Seconds an open circuit breaker fails calls at once before one trial call probes DynamoDB.",
    )
    ON_UNAVAILABLE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ON_UNAVAILABLE", "raise", values.one_of(ON_UNAVAILABLE_CHOICES),
        "What a session read does while DynamoDB is unavailable: 'raise' (the middleware answers "
        "503) or 'anonymous' (an empty, read-only session marked degraded).",
    )
    ASYNC_TRANSPORT: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ASYNC_TRANSPORT", "auto", values.one_of(ASYNC_TRANSPORTS),
        "How async session calls reach DynamoDB: 'native' (the loop's aiobotocore client, with the "
        "async extra), 'thread' (their sync twins in a thread, as Django's own backends do), or "
        "'auto': native with the extra, except on AWS Lambda, where a process serves one request "
        "at a time and native async would only add aiohttp and a second client to every cold start.",
    )
    MAX_POOL_CONNECTIONS: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_MAX_POOL_CONNECTIONS", 50, values.positive_int,
        "HTTP connections kept to DynamoDB per process; make it at least your thread count.",
    )
    KEY_PREFIX: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_KEY_PREFIX", "", values.key_prefix,
        "What every item key this site writes starts with, and every user index value: sites with "
        "different prefixes share one table and never meet, and IAM's dynamodb:LeadingKeys can hold "
        "each to its own. It must end with ':', '#', '/' or '|'.",
    )
    UNPREFIXED_FALLBACK: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_UNPREFIXED_FALLBACK", False, values.boolean,
        "With a KEY_PREFIX newly set on a live site: also read sessions stored without it (and list "
        "users' sessions indexed without it), moving each under the prefix at its next save, so "
        "nobody is logged out. For one SESSION_COOKIE_AGE, then turn it off and tighten IAM.",
    )
    REGIONS: Setting[dict[str, str | None] | None] = Setting(
        "DYNAMODB_SESSIONS_REGIONS", None, values.optional_regions,
        "The Regions of a global table (MREC), each to its endpoint URL or None for AWS's own: each new "
        "session's key records the Region that created it (DYNAMODB_REGION, which must be one of them), "
        "and every read and write of the session goes to that Region's replica, so its conditions and "
        "merges are checked in one place. None: every call goes to DYNAMODB_REGION.",
    )
    HOME_UNAVAILABLE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_HOME_UNAVAILABLE", READ_LOCALLY, values.one_of(HOME_UNAVAILABLE_CHOICES),
        "With REGIONS, what a session does while its home Region is unavailable: 'read-locally' (read from "
        "this Region's replica; a write answers 503 with Retry-After) or 'write-locally' (write here too, "
        "trading the no-lost-write and no-resurrection guarantees for availability).",
    )
    HASH_KEYS: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_HASH_KEYS", False, values.boolean,
        "Store an HMAC of the session key (derived from SECRET_KEY) as the item key, so that "
        "reading the table or a backup does not reveal live session keys.",
    )
    TOUCH_INTERVAL: Setting[int] = Setting(
        "DYNAMODB_SESSIONS_TOUCH_INTERVAL", 0, values.non_negative_int,
        "Seconds: skip a save whose data is unchanged when it would move the stored expiry by "
        "less than this. 0 writes every save.",
    )
    TRACK_USERS: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_TRACK_USERS", False, values.boolean,
        "Store the logged-in user's id on each session item and index it, so a user's sessions "
        "can be listed and revoked.",
    )
    TRACK_CLIENT: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_TRACK_CLIENT", False, values.boolean,
        "With TRACK_USERS, also store the user agent and IP address of the last request "
        "(needs pynamo_sessions.middleware.ClientInfoMiddleware).",
    )
    ATTR_VERSION: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_VERSION", "version", values.attribute_name,
        "Name of the version-number attribute that makes parallel saves of one session merge "
        "instead of overwriting each other; items without it (older ones, the snippet's) get it "
        "on their next save.",
    )
    ATTR_USER: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_USER", "user_id", values.attribute_name,
        "Name of the user id attribute written when TRACK_USERS is on.",
    )
    USER_INDEX: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_USER_INDEX", "user_id-index", values.table_name,
        "Name of the global secondary index on the user id attribute.",
    )
    ABSOLUTE_AGE: Setting[int | None] = Setting(
        "DYNAMODB_SESSIONS_ABSOLUTE_AGE", None, values.optional_positive_int,
        "Seconds: no session is valid longer than this after it was created (a login starts a "
        "new one), however active it is. None: only Django's idle expiry.",
    )
    ATTR_CREATED: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_ATTR_CREATED", "created", values.attribute_name,
        "Name of the creation-time attribute (epoch seconds), written when ABSOLUTE_AGE is set.",
    )
    MAX_PER_USER: Setting[int | None] = Setting(
        "DYNAMODB_SESSIONS_MAX_PER_USER", None, values.optional_positive_int,
        "With TRACK_USERS, the most live sessions a user may have: a login past it signs out the "
        "least recently used ones (never the new one), at most 25 per login. None: no cap.",
    )
    REVOCATIONS: Setting[Any] = Setting(
        "DYNAMODB_SESSIONS_REVOCATIONS", None, values.optional_dotted_path,
        "A callable (or its dotted path) taking (user_id, limit) and returning the user's last "
        "revocations, newest first, as mappings with 'when', 'by', 'reason' and 'device', from "
        "wherever a session_revoked receiver keeps them: the staff view shows them. None: not shown.",
    )
    LOGOUT_ON_PASSWORD_CHANGE: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_LOGOUT_ON_PASSWORD_CHANGE", False, values.boolean,
        "With TRACK_USERS, log a user out of every session when their password changes.",
    )
    LAYOUT_TEMPLATE: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_LAYOUT_TEMPLATE", "pynamo_sessions/base.html", values.template_name,
        "The template the sessions page extends: a complete page of its own by default; your "
        "site's layout (\"base.html\") to show the page inside it, which needs a block named "
        "content (and title).",
    )
    ENCRYPT: Setting[bool] = Setting(
        "DYNAMODB_SESSIONS_ENCRYPT", False, values.boolean,
        "Encrypt the session data and the client details (user agent, IP address) with AES-256-GCM "
        "before they reach DynamoDB (needs the encryption extra). Items written before stay "
        "readable and are encrypted at their next save; turned off, encrypted items still load.",
    )
    ENCRYPTION_KEYS: Setting[list[str] | None] = Setting(
        "DYNAMODB_SESSIONS_ENCRYPTION_KEYS", None, values.optional_encryption_keys,
        "Keys, each 32 random bytes in URL-safe base64: the first encrypts, every one decrypts. "
        "None derives them (HKDF) from SECRET_KEY and each of SECRET_KEY_FALLBACKS.",
        hint=f"Make a key with: {values.ENCRYPTION_KEY_COMMAND}", secret=True,
    )
    CLIENT_IP: Setting[str] = Setting(
        "DYNAMODB_SESSIONS_CLIENT_IP", "full", values.one_of(CLIENT_IP_CHOICES),
        "With TRACK_CLIENT, how much of the IP address is kept: 'full', 'truncated' (the network: "
        "IPv4 /24, IPv6 /48) or 'none'.",
    )
    METRICS_CALLBACK: Setting[Any] = Setting(
        "DYNAMODB_SESSIONS_METRICS_CALLBACK", None, values.optional_dotted_path,
        "A callable (or its dotted path) called with a pynamo_sessions.store.usage.Call after each "
        "DynamoDB call the backend makes.",
    )

    @classmethod
    def settings(cls) -> Iterator[Setting[Any]]:
        for value in vars(cls).values():
            if isinstance(value, Setting):
                yield value


conf = Conf()


class Regions:
    """DYNAMODB_SESSIONS_REGIONS as the request path reads it: this process's Region, each Region's
    endpoint, and the code a session key carries for each (the Region without its dashes).
    (A plain class: a cold start defines it whether or not the setting is used.)"""

    __slots__ = ("by_code", "endpoints", "local", "local_code")

    def __init__(self, local: str, endpoints: dict[str, str | None]) -> None:
        self.local = local
        self.endpoints = dict(endpoints)
        self.by_code = {region_code(region): region for region in endpoints}
        self.local_code = region_code(local)


def region_code(region: str) -> str:
    """What a session key ends with to name its home Region: 'eu-west-1' -> 'euwest1'."""
    return region.replace("-", "")


class Snapshot(NamedTuple):
    """The validated values of every setting at one moment, shared by every store. (A named
    tuple, read like a frozen dataclass, whose class costs a cold start far less to define.)"""

    endpoint_url: str | None
    region: str | None
    table_name: str
    attr_id: str
    attr_ttl: str
    attr_data: str
    attr_version: str
    consistent_read: bool
    billing_mode: str
    read_capacity_units: int
    write_capacity_units: int
    connect_timeout: float
    read_timeout: float
    max_retry_attempts: int
    max_pool_connections: int
    retry_mode: str
    breaker_threshold: int
    breaker_window: float
    breaker_cooldown: float
    on_unavailable: str
    async_transport: str
    hash_keys: bool
    key_prefix: str
    unprefixed_fallback: bool
    regions: Regions | None
    home_unavailable: str
    touch_interval: int
    track_users: bool
    track_client: bool
    attr_user: str
    user_index: str
    absolute_age: int | None
    attr_created: str
    encrypt: bool
    encryption_keys: tuple[str, ...] | None
    client_ip: str
    max_per_user: int | None
    metrics_callback: Any


#: Attributes the item holds under fixed names (with DYNAMODB_SESSIONS_TRACK_USERS): no
#: attribute-name setting may take one of them, whether or not users are tracked today.
RESERVED_ATTRIBUTES = ("updated", "user_agent", "ip_address")


def attribute_name_clash() -> str | None:
    """Why the attribute-name settings cannot share one item, or None when they can."""
    named = {
        "DYNAMODB_SESSIONS_ATTR_ID": conf.ATTR_ID,
        "DYNAMODB_SESSIONS_ATTR_TTL": conf.ATTR_TTL,
        "DYNAMODB_SESSIONS_ATTR_SESSION_DATA": conf.ATTR_SESSION_DATA,
        "DYNAMODB_SESSIONS_ATTR_VERSION": conf.ATTR_VERSION,
        "DYNAMODB_SESSIONS_ATTR_USER": conf.ATTR_USER,
        "DYNAMODB_SESSIONS_ATTR_CREATED": conf.ATTR_CREATED,
    }
    reserved = [f"{name} = {value!r}" for name, value in named.items() if value in RESERVED_ATTRIBUTES]
    if reserved:
        return (
            f"{', '.join(reserved)} takes a name the item always uses for an attribute of its own "
            f"({', '.join(map(repr, RESERVED_ATTRIBUTES))}, written with DYNAMODB_SESSIONS_TRACK_USERS); "
            "choose another."
        )
    names = [conf.ATTR_ID, conf.ATTR_TTL, conf.ATTR_SESSION_DATA, conf.ATTR_VERSION]
    if conf.TRACK_USERS:
        names.append(conf.ATTR_USER)
    if conf.ABSOLUTE_AGE is not None:
        names.append(conf.ATTR_CREATED)
    if len(set(map(repr, names))) == len(names):
        return None
    return (
        "DYNAMODB_SESSIONS_ATTR_ID, _ATTR_TTL, _ATTR_SESSION_DATA, _ATTR_VERSION (and _ATTR_USER when "
        f"tracking users, _ATTR_CREATED with an absolute age) must all differ; got {names!r}."
    )


def regions_problem() -> str | None:
    """Why DYNAMODB_SESSIONS_REGIONS does not fit the other settings, or None when it does."""
    regions = conf.REGIONS
    if regions is None or Conf.REGIONS.problem() is not None:
        return None
    local = conf.REGION
    if local not in regions:
        return (f"DYNAMODB_REGION = {local!r} must name the Region this process runs in, one of "
                f"DYNAMODB_SESSIONS_REGIONS ({', '.join(map(repr, regions))}): new sessions are given it as "
                "their home.")
    if regions[local] != conf.LOCAL_ENDPOINT:
        return (f"DYNAMODB_SESSIONS_REGIONS gives this process's Region {local!r} the endpoint {regions[local]!r} "
                f"but DYNAMODB_LOCAL_ENDPOINT is {conf.LOCAL_ENDPOINT!r}: make them the same, so that a session "
                "homed here is read where the rest of the site reads.")
    if len({region_code(region) for region in regions}) < len(regions):
        return "DYNAMODB_SESSIONS_REGIONS names two Regions that differ only in their dashes."
    return None


def problems() -> list[str]:
    """Every configuration problem, as full sentences; empty when all is well."""
    found = [p for s in Conf.settings() if (p := s.problem()) is not None]
    for problem in (attribute_name_clash(), regions_problem()):
        if problem is not None:
            found.append(problem)
    return found


_snapshot: Snapshot | None = None


def current() -> Snapshot:
    """The validated settings; raises ImproperlyConfigured naming every bad setting."""
    global _snapshot
    snapshot = _snapshot
    if snapshot is None:
        found = problems()
        if found:
            raise ImproperlyConfigured(" ".join(found))
        snapshot = Snapshot(
            endpoint_url=conf.LOCAL_ENDPOINT,
            region=conf.REGION,
            table_name=conf.TABLE,
            attr_id=conf.ATTR_ID,
            attr_ttl=conf.ATTR_TTL,
            attr_data=conf.ATTR_SESSION_DATA,
            attr_version=conf.ATTR_VERSION,
            consistent_read=conf.CONSISTENT_READ,
            billing_mode=conf.BILLING_MODE,
            read_capacity_units=conf.READ_CAPACITY_UNITS,
            write_capacity_units=conf.WRITE_CAPACITY_UNITS,
            connect_timeout=float(_timeout(Conf.CONNECT_TIMEOUT, LOCAL_CONNECT_TIMEOUT)),
            read_timeout=float(_timeout(Conf.READ_TIMEOUT, LOCAL_READ_TIMEOUT)),
            max_retry_attempts=conf.MAX_RETRY_ATTEMPTS,
            max_pool_connections=conf.MAX_POOL_CONNECTIONS,
            retry_mode=conf.RETRY_MODE,
            breaker_threshold=conf.BREAKER_THRESHOLD,
            breaker_window=float(conf.BREAKER_WINDOW),
            breaker_cooldown=float(conf.BREAKER_COOLDOWN),
            on_unavailable=conf.ON_UNAVAILABLE,
            async_transport=conf.ASYNC_TRANSPORT,
            hash_keys=conf.HASH_KEYS,
            key_prefix=conf.KEY_PREFIX,
            unprefixed_fallback=conf.UNPREFIXED_FALLBACK,
            regions=None if conf.REGIONS is None else Regions(conf.REGION or "", conf.REGIONS),
            home_unavailable=conf.HOME_UNAVAILABLE,
            touch_interval=conf.TOUCH_INTERVAL,
            track_users=conf.TRACK_USERS,
            track_client=conf.TRACK_CLIENT,
            attr_user=conf.ATTR_USER,
            user_index=conf.USER_INDEX,
            absolute_age=conf.ABSOLUTE_AGE,
            attr_created=conf.ATTR_CREATED,
            encrypt=conf.ENCRYPT,
            encryption_keys=None if conf.ENCRYPTION_KEYS is None else tuple(conf.ENCRYPTION_KEYS),
            client_ip=conf.CLIENT_IP,
            max_per_user=conf.MAX_PER_USER,
            metrics_callback=conf.METRICS_CALLBACK,
        )
        _snapshot = snapshot
    return snapshot


def _timeout(setting: Setting[float], local: float) -> float:
    """The setting's value; unset, production's default, or ``local`` for DynamoDB Local."""
    endpoint = conf.LOCAL_ENDPOINT
    if setting.is_set() or not endpoint or not is_on_this_machine(endpoint):
        return getattr(settings, setting.name, setting.default)
    return local


# SECRET_KEY matters to hashed keys, USE_TZ to expiry; both are read live, but a change to any of
# ours must drop the snapshot so the next request sees it.
@receiver(setting_changed)
def _forget_snapshot(*, setting: str, **kwargs: Any) -> None:
    global _snapshot
    if setting.startswith("DYNAMODB_"):
        _snapshot = None
