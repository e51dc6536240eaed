"""System checks: offline ones on every command, the table check only with ``check --deploy``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from pynamodb.exceptions import DoesNotExist

from pynamo_sessions import conf
from pynamo_sessions.exceptions import PynamoSessionsError
from pynamo_sessions.store import aio, models, sealing
from pynamo_sessions.web import cookie_checks


class Check(NamedTuple):
    """What the reference says of one check, and where the documentation answers it."""

    when: str  # the condition, in one line: the generated reference lists it (`code` allowed)
    page: str
    heading: str


_DEPLOY = "(deploy) "
# Every check this app raises: the reference (docs/_ext/reference.py) is generated from this, and
# each hint ends by pointing at the page and section.
CHECKS = {
    "E001": Check("a setting has a wrong type or value (the message names it and the value)",
                  "docs/settings.md", "Settings"),
    "E002": Check("two attribute-name settings are equal", "docs/settings.md", "Settings"),
    "E003": Check("`DYNAMODB_SESSIONS_ENCRYPT` is on but the `cryptography` package is not installed",
                  "docs/encryption.md", "Encryption at rest"),
    "E004": Check("`DYNAMODB_SESSIONS_MAX_PER_USER` is set but `DYNAMODB_SESSIONS_TRACK_USERS` is off",
                  "docs/governance.md", "A cap per user"),
    "E005": Check("`DYNAMODB_SESSIONS_REGIONS` is set but `DYNAMODB_REGION` is not one of its Regions, or its "
                  "endpoint differs from `DYNAMODB_LOCAL_ENDPOINT`", "docs/global-tables.md",
                  "Region pinning for MREC"),
    "W006": Check("`DYNAMODB_SESSIONS_REGIONS` is set with the cached engine: a logout reaches only the "
                  "cache of the Region it happened in, unless every Region's processes share one cache",
                  "docs/global-tables.md", "Region pinning for MREC"),
    "W001": Check("the app is installed but `SESSION_ENGINE` is not ours", "README.md", "Install"),
    "W002": Check("no region or endpoint is configured", "README.md", "Install"),
    "W003": Check("`DYNAMODB_LOCAL_ENDPOINT` is set while the original snippet's `APP_ENV` says not local",
                  "docs/migrating.md", "Migrating from the original dynamodb_session.py"),
    "I001": Check("the site runs under ASGI (`ASGI_APPLICATION` is set, or uvicorn, Daphne, Hypercorn, "
                  "Granian or Mangum is loaded) without the `[async]` extra, so async session calls run "
                  "in a thread", "docs/async.md", "Async and ASGI"),
    "W004": Check("the sessions page is included but `LOGIN_URL` matches no URL pattern of the site: "
                  "anonymous visitors and signed-out browsers would get a 404",
                  "docs/users.md", "Where you're signed in"),
    "W005": Check("`DYNAMODB_REGION` has the form of a region code but is not one botocore's own endpoint "
                  "data lists for DynamoDB (checked offline): a typo such as `'eu-wset-1'`, or a region "
                  "newer than the installed botocore", "docs/settings.md", "Settings"),
    "E101": Check(_DEPLOY + "the table does not exist", "docs/provisioning.md", "Provisioning"),
    "E102": Check(_DEPLOY + "its key schema is not a single string hash key named `DYNAMODB_SESSIONS_ATTR_ID`",
                  "docs/provisioning.md", "Provisioning"),
    "E103": Check(_DEPLOY + "TTL is enabled on another attribute", "docs/expiry.md", "Expiry and TTL"),
    "E104": Check(_DEPLOY + "`TRACK_USERS` is on and the user index is missing",
                  "docs/users.md", "A user's sessions"),
    "W101": Check(_DEPLOY + "TTL is not enabled", "docs/expiry.md", "Expiry and TTL"),
    "W106": Check(_DEPLOY + "the table is a global table with eventual consistency (MREC): parallel saves "
                  "from two Regions can lose a merge and a logout can be undone", "docs/global-tables.md",
                  "Global tables"),
    "I002": Check(_DEPLOY + "the table is a strongly consistent global table (MRSC), which has no TTL: "
                  "schedule `clearsessions`", "docs/global-tables.md", "Global tables"),
    "W104": Check(_DEPLOY + "the user index has no sort key (made by an earlier release): the pages and the cap "
                  "read up to 1,000 of a user's sessions", "docs/users.md", "An index in last-use order"),
    "W102": Check(_DEPLOY + "the table could not be checked (unreachable, or not allowed): a warning, "
                  "not a traceback", "docs/iam.md", "IAM policy"),
    "W103": Check(_DEPLOY + "`DYNAMODB_LOCAL_ENDPOINT` points at this machine (`localhost`, `127.x`, "
                  "`::1`): a deployed site would keep its sessions in a DynamoDB Local",
                  "README.md", "Install"),
    "E105": Check(_DEPLOY + "the cached engine's `SESSION_CACHE_ALIAS` is a per-process cache "
                  "(`LocMemCache`): a logout or revocation would not reach the other processes",
                  "docs/cached-engine.md", "The cached engine"),
    # Django's session-cookie warnings, which stay silent without django.contrib.sessions
    **{id: Check(_DEPLOY + f"`{setting}` is not `True` with {names}: Django's `security.{django}`, "
                 "in Django's words", "docs/checks.md", "System checks")
       for setting, ids, djangos in (("SESSION_COOKIE_SECURE", ("W110", "W111", "W112"), ("W010", "W011", "W012")),
                                     ("SESSION_COOKIE_HTTPONLY", ("W113", "W114", "W115"), ("W013", "W014", "W015")))
       for id, django, names in zip(ids, djangos, ("our app installed", "our middleware",
                                                   "both"), strict=True)},
}


def _docs(id: str) -> str:
    page, heading = CHECKS[id].page, CHECKS[id].heading
    return f"See the pynamo_sessions documentation, {page}, section '{heading}'."


# Seeing one of these imported, or ASGI_APPLICATION set, means the site is served under ASGI (a
# Mangum handler module imports mangum before get_asgi_application() sets Django up).
ASGI_SERVERS = ("uvicorn", "daphne", "hypercorn", "granian", "mangum")

TAG = "pynamo_sessions"  # `manage.py check --tag pynamo_sessions [--deploy]` runs ours only


def register() -> None:
    checks.register(check_settings, TAG)
    # Not Tags.database: Django runs those only when asked for a database alias, and this
    # checks DynamoDB, not a relational database.
    checks.register(check_table, TAG, deploy=True)
    checks.register(check_cache, TAG, deploy=True)
    checks.register(check_login_url, TAG, checks.Tags.urls)
    checks.register(cookie_checks.check_session_cookie, TAG, checks.Tags.security, deploy=True)


def _error(msg: str, hint: str, id: str) -> checks.Error:
    return checks.Error(msg, hint=f"{hint} {_docs(id)}", id=f"pynamo_sessions.{id}")


def _warning(msg: str, hint: str, id: str) -> checks.Warning:
    return checks.Warning(msg, hint=f"{hint} {_docs(id)}", id=f"pynamo_sessions.{id}")


def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Offline: each setting's type and value, and how the app and the engine fit together."""
    messages: list[checks.CheckMessage] = []
    for setting in conf.Conf.settings():
        problem = setting.problem()
        if problem:
            hint = f"Fix {setting.name}: {setting.meaning}" + (f" {setting.hint}" if setting.hint else "")
            messages.append(_error(problem, hint, "E001"))
    clash = conf.attribute_name_clash()
    if clash:
        messages.append(_error(
            clash, "Give each attribute-name setting its own value.", "E002",
        ))
    regions = conf.regions_problem()
    if regions:
        messages.append(_error(
            regions, "Set DYNAMODB_REGION to this process's Region and map it, in DYNAMODB_SESSIONS_REGIONS, to "
            "DYNAMODB_LOCAL_ENDPOINT (None on AWS).", "E005",
        ))
    if conf.conf.REGIONS is not None and settings.SESSION_ENGINE == conf.CACHED_ENGINE:
        messages.append(_warning(
            "DYNAMODB_SESSIONS_REGIONS is set with the cached engine: a logout or revocation deletes the "
            "session from its home Region's replica and from this Region's cache, not from the caches of the "
            "other Regions, which go on serving it until their entry expires.",
            "Give every Region's processes one cache they all reach, or use pynamo_sessions.backends.dynamodb.",
            "W006",
        ))
    if settings.SESSION_ENGINE not in conf.ENGINES:
        messages.append(_warning(
            f"pynamo_sessions is installed but SESSION_ENGINE is {settings.SESSION_ENGINE!r}.",
            "Set SESSION_ENGINE = 'pynamo_sessions.backends.dynamodb' to keep sessions in DynamoDB, "
            "or remove 'pynamo_sessions' from INSTALLED_APPS.",
            "W001",
        ))
    if not (conf.conf.REGION or conf.conf.LOCAL_ENDPOINT or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")):
        messages.append(_warning(
            "No DynamoDB region or endpoint is configured.",
            "Set DYNAMODB_REGION (e.g. 'eu-west-1'), or DYNAMODB_LOCAL_ENDPOINT for DynamoDB Local; "
            "otherwise the region comes from ~/.aws/config or fails at the first request.",
            "W002",
        ))
    unknown = unknown_region(conf.conf.REGION) if not conf.problems() else None
    if unknown:
        messages.append(_warning(
            f"DYNAMODB_REGION = {conf.conf.REGION!r} is not a region botocore knows for DynamoDB "
            f"(its data lists, for instance, {unknown}).",
            "Check the spelling against `aws ec2 describe-regions`; a region newer than this botocore "
            "works once botocore is upgraded.",
            "W005",
        ))
    if conf.conf.ENCRYPT and not sealing.available():
        messages.append(_error(
            "DYNAMODB_SESSIONS_ENCRYPT is True but the cryptography package is not installed: every "
            "session read and write would fail.",
            f"{sealing.EXTRA}, or set DYNAMODB_SESSIONS_ENCRYPT = False.",
            "E003",
        ))
    if conf.conf.MAX_PER_USER is not None and not conf.conf.TRACK_USERS:
        messages.append(_error(
            "DYNAMODB_SESSIONS_MAX_PER_USER is set but DYNAMODB_SESSIONS_TRACK_USERS is off: without the "
            "user index a login cannot find the user's other sessions, so the cap would never apply.",
            "Set DYNAMODB_SESSIONS_TRACK_USERS = True (then run `python manage.py createsessiontable` to add "
            "the user index), or remove DYNAMODB_SESSIONS_MAX_PER_USER.",
            "E004",
        ))
    app_env = getattr(settings, "APP_ENV", None)
    if conf.conf.LOCAL_ENDPOINT and app_env is not None and app_env != "local":
        messages.append(_warning(
            f"DYNAMODB_LOCAL_ENDPOINT is set and APP_ENV is {app_env!r}: the original "
            "dynamodb_session.py ignored the endpoint outside APP_ENV='local'; pynamo_sessions "
            "always uses it.",
            "Set DYNAMODB_LOCAL_ENDPOINT only in your local settings (or to None in production).",
            "W003",
        ))
    if settings.SESSION_ENGINE in conf.ENGINES and not aio.available() and served_under_asgi():
        messages.append(checks.Info(
            "The site runs under ASGI but the async extra is not installed: each async session "
            "call (aload, asave, ...) runs its sync twin in a thread, as Django's own backends do.",
            hint="pip install 'pynamo-sessions[async]' for native async session calls. " + _docs("I001"),
            id="pynamo_sessions.I001",
        ))
    return messages


def unknown_region(region: str | None) -> str | None:
    """None when ``region`` is unset or one botocore's endpoint data lists for DynamoDB (read
    offline, from the files botocore ships), else a few regions it does list."""
    if region is None:
        return None
    session = models.botocore_session()
    known: list[str] = []
    for partition in session.get_available_partitions():
        known.extend(session.get_available_regions("dynamodb", partition_name=partition))
    if region in known:
        return None
    return ", ".join(repr(r) for r in sorted(known, key=lambda r: (r[:2] != region[:2], r))[:3])


def served_under_asgi() -> bool:
    """Whether this process serves ASGI, as far as can be told at start-up."""
    return getattr(settings, "ASGI_APPLICATION", None) is not None or any(
        name in sys.modules for name in ASGI_SERVERS
    )


def check_cache(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With --deploy: the cached engine's cache is one that every process shares."""
    from pynamo_sessions.operations import users

    reach = users.unreachable_caches()
    if reach is None:
        return []
    return [_error(
        reach,
        "Point SESSION_CACHE_ALIAS at a cache every process shares (Redis, Memcached, the "
        "database cache), or use SESSION_ENGINE = 'pynamo_sessions.backends.dynamodb'.",
        "E105",
    )]


def check_login_url(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The sessions page sends anonymous visitors and a signed-out browser to LOGIN_URL: where
    its URLs are included, that must be a page of the site (a fresh project has none)."""
    from django.shortcuts import resolve_url
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    try:
        reverse("pynamo_sessions:sessions")
    except NoReverseMatch:
        return []  # the pages are not included
    try:
        target = resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:
        target = str(settings.LOGIN_URL)
    if "://" in target or target.startswith("//"):
        return []  # on another site (a single sign-on service): not ours to resolve
    try:
        resolve(target.split("?", 1)[0])
    except Resolver404:
        return [_warning(
            f"The sessions page (pynamo_sessions.urls) sends anonymous visitors and \"sign out this session\" "
            f"to LOGIN_URL = {settings.LOGIN_URL!r}, which no URL pattern of this site matches: they would get "
            "a 404.",
            "Include a login page, e.g. path('accounts/', include('django.contrib.auth.urls')) and a "
            "registration/login.html template, or set LOGIN_URL to your login page's URL or name.",
            "W004",
        )]
    return []


def check_table(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With --deploy: the table exists, fits the settings, has TTL and can be read."""
    if settings.SESSION_ENGINE not in conf.ENGINES or conf.problems():
        return []  # check_settings already says what is wrong
    snapshot = conf.current()
    local = []
    if snapshot.endpoint_url and conf.is_on_this_machine(snapshot.endpoint_url):
        local.append(_warning(
            f"DYNAMODB_LOCAL_ENDPOINT is {snapshot.endpoint_url!r}, an address on this machine: a "
            "deployed site would keep its sessions in a DynamoDB Local (in memory, unshared, gone "
            "on restart) rather than in DynamoDB.",
            "Set DYNAMODB_LOCAL_ENDPOINT = None and DYNAMODB_REGION in production settings.",
            "W103",
        ))
    return local + _check_table(snapshot)


def _check_table(snapshot: conf.Snapshot) -> list[checks.CheckMessage]:
    from pynamo_sessions.operations import provision  # ready() imports this module: keep start-up light

    table = snapshot.table_name
    try:
        description = provision.describe_table()
        if description is None:
            return [_error(
                f"The sessions table {table!r} does not exist.",
                "Run `python manage.py createsessiontable` (or pynamo_sessions.create_table()).",
                "E101",
            )]
        problem = provision.key_schema_problem(description, snapshot)
        if problem:
            return [_error(problem, "Point the settings at the right table.", "E102")]
        messages: list[checks.CheckMessage] = []
        mode, regions = provision.global_table(description)
        if mode == provision.MREC and snapshot.regions is not None:
            unpinned = sorted(set(regions) - set(snapshot.regions.endpoints))
            if unpinned:
                messages.append(_warning(
                    f"Table {table!r} has replicas in {', '.join(unpinned)}, which DYNAMODB_SESSIONS_REGIONS "
                    "does not name: sessions created by a site there are not pinned to a home Region.",
                    "Add each replica's Region to DYNAMODB_SESSIONS_REGIONS on every site.",
                    "W106",
                ))
        elif mode == provision.MREC:
            messages.append(_warning(
                f"Table {table!r} is a global table with eventual consistency (MREC) in {', '.join(regions)}: "
                "conditions are checked in the local Region only and replication keeps the last writer. So "
                "two Regions saving one session at once can lose one's changes (no merge), and a logout in "
                "one Region can be undone by a save in flight in another.",
                "Set DYNAMODB_SESSIONS_REGIONS to the table's Regions, so that each session is read and written "
                "in its home Region; or route each user to one Region and keep them there; or use a strongly "
                "consistent global table (MRSC).",
                "W106",
            ))
        status, attribute = provision.ttl_attribute()
        if mode == provision.MRSC and status not in provision.TTL_ON:
            messages.append(checks.Info(
                f"Table {table!r} is a strongly consistent global table (MRSC) in {', '.join(regions)}: it has "
                "no TTL. Expired sessions read as gone (expiry is checked on every read); deleting them is "
                "clearsessions' job.",
                hint="Schedule `python manage.py clearsessions` (daily, say). " + _docs("I002"),
                id="pynamo_sessions.I002",
            ))
        elif status not in provision.TTL_ON:
            messages.append(_warning(
                f"TTL is {status} on table {table!r}: expired sessions are never deleted by DynamoDB.",
                "Run `python manage.py createsessiontable` to enable it, or run `clearsessions` regularly.",
                "W101",
            ))
        elif attribute != snapshot.attr_ttl:
            messages.append(_error(
                f"TTL on table {table!r} is on {attribute!r}, but DYNAMODB_SESSIONS_ATTR_TTL is "
                f"{snapshot.attr_ttl!r}.",
                f"Set DYNAMODB_SESSIONS_ATTR_TTL = {attribute!r}, or move TTL to {snapshot.attr_ttl!r}.",
                "E103",
            ))
        if snapshot.track_users and not provision.has_user_index(description, snapshot):
            messages.append(_error(
                f"DYNAMODB_SESSIONS_TRACK_USERS is on but table {table!r} has no index "
                f"{snapshot.user_index!r}.",
                "Run `python manage.py createsessiontable` to add it.",
                "E104",
            ))
        elif snapshot.track_users and not provision.user_index_is_ordered(description, snapshot):
            messages.append(_warning(
                f"The user index {snapshot.user_index!r} of table {table!r} has no sort key: the sessions "
                "pages and the per-user cap read up to 1,000 of a user's sessions to show the 50 most "
                "recently used.",
                "Add an ordered index beside it: set DYNAMODB_SESSIONS_USER_INDEX to a new name, run "
                "`python manage.py createsessiontable`, deploy, then delete the old index.",
                "W104",
            ))
        # GetItem is what every request needs; reading a key that cannot exist proves the
        # permission without touching a real session.
        models.bound_model(admin=True).get("pynamo-sessions-deploy-check")
    except DoesNotExist:
        return messages
    except PynamoSessionsError as exc:
        return [_warning(
            f"Could not check the sessions table {table!r}: {exc}",
            "Check that DynamoDB is reachable and that this role may DescribeTable, "
            "DescribeTimeToLive and GetItem on the table.",
            "W102",
        )]
    except Exception as exc:  # noqa: BLE001 - a deploy check reports, it never crashes `check`
        return [_warning(
            f"Could not check the sessions table {table!r}: {type(exc).__name__}: {exc}",
            "Check that DynamoDB is reachable and that this role may DescribeTable, "
            "DescribeTimeToLive and GetItem on the table.",
            "W102",
        )]
    return messages
