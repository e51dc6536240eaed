"""Region pinning (DYNAMODB_SESSIONS_REGIONS) on two Regions simulated as MREC does it: two
DynamoDB Locals and the replicator of ``pynamo_sessions.testing.regions`` between them.

Each test holds replication while the requests run (so "replication has not caught up yet" is a
fact of the test, not a race with the machine's speed), then lets it settle and looks at both
replicas. Without pinning, the instrument shows the two broken guarantees (a lost write, a
logout undone); with pinning, neither happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.core import checks as django_checks
from django.test import override_settings

from pynamo_sessions import SessionStoreUnavailable, checks, conf
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import provision, users
from pynamo_sessions.store import aio, calls, keys
from pynamo_sessions.store.breaker import OPEN
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing import regions as harness
from pynamo_sessions.testing.faultproxy import FaultProxy
from pynamo_sessions.testing.regions import TwoRegions
from tests.helpers import count_calls

HOME, AWAY = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def two_regions(dynamodb_local: str) -> Iterator[TwoRegions]:
    """us-east-1 is the test run's DynamoDB Local, eu-west-1 one more, started here."""
    with TwoRegions(given={HOME: dynamodb_local}, lag=0.05) as regions:
        yield regions


@pytest.fixture
def table(two_regions: TwoRegions, settings: Any) -> Iterator[str]:
    """A sessions table (users tracked) in both Regions, replicated by ``two_regions``."""
    settings.DYNAMODB_SESSIONS_TABLE = name = f"r-{uuid.uuid4().hex[:12]}"
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    for region in (HOME, AWAY):
        with in_region(two_regions, region, pinned=False):
            provision.create_table()
    two_regions.follow(name)
    yield name
    assert two_regions.replicator is not None and two_regions.replicator.errors == []
    two_regions.replicator.stop()
    for region in (HOME, AWAY):
        with in_region(two_regions, region, pinned=False):
            provision.delete_table()


def in_region(regions: TwoRegions, region: str, *, pinned: bool, **more: Any) -> override_settings:
    """The settings of a site process in ``region``: its own replica, and with ``pinned`` the
    Regions of the table."""
    return override_settings(**{
        "DYNAMODB_REGION": region, "DYNAMODB_LOCAL_ENDPOINT": regions.endpoints[region],
        "DYNAMODB_SESSIONS_REGIONS": dict(regions.endpoints) if pinned else None, **more,
    })


def stored(regions: TwoRegions, region: str, table: str) -> list[dict[str, Any]]:
    return list(regions.items(region, table))


def new_session(regions: TwoRegions, region: str, *, pinned: bool, **data: Any) -> str:
    with in_region(regions, region, pinned=pinned):
        store = SessionStore()
        store.update(data)
        store.save()
        assert store.session_key is not None
        return store.session_key


def in_both_replicas_then_held(regions: TwoRegions, pinned: bool, **data: Any) -> tuple[str, harness.Replicator]:
    """A session made in us-east-1 and replicated to both; replication then held."""
    assert regions.replicator is not None
    key = new_session(regions, HOME, pinned=pinned, **data)
    regions.settle()
    regions.replicator.hold()
    return key, regions.replicator


def session_data(regions: TwoRegions, region: str, session_key: str, *, pinned: bool) -> dict[str, Any]:
    with in_region(regions, region, pinned=pinned):
        return SessionStore(session_key).load()


# Keys -------------------------------------------------------------------------------------


def test_a_new_key_ends_with_its_home_regions_code_and_an_old_key_has_no_home(two_regions: TwoRegions) -> None:
    with in_region(two_regions, AWAY, pinned=True):
        snapshot = conf.current()
        key = SessionStore()._get_new_session_key()
        assert key.endswith("euwest1") and len(key) == 32 + len("euwest1") and keys.is_valid(key)

        def home(session_key: str) -> str | None:
            return keys.home_of_item(keys.item_key(session_key, hashed=False), snapshot)

        assert home(key) is None  # homed here: the local replica, as without Regions
        assert home(key[:32] + "useast1") == HOME
        assert home(key[:32]) is None  # Django's own keys, made before: local
        assert home(key[:32] + "apsouth1") is None  # a Region no longer listed: local
    # The HMAC keeps the code, so a revocation from the user index finds the home too.
    hashing = {"DYNAMODB_SESSIONS_HASH_KEYS": True, "DYNAMODB_SESSIONS_KEY_PREFIX": "site1:"}
    with in_region(two_regions, AWAY, pinned=True, **hashing):
        hashed = keys.item_key(key[:32] + "useast1", hashed=True, prefix="site1:")
        assert keys.home_of_item(hashed, conf.current()) == HOME
    with in_region(two_regions, AWAY, pinned=False):
        assert len(SessionStore()._get_new_session_key()) == 32  # no Regions: Django's keys


# The two guarantees, without and with pinning ---------------------------------------------


@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
def test_parallel_saves_in_two_regions_lose_nothing_only_when_pinned(
    two_regions: TwoRegions, table: str, pinned: bool,
) -> None:
    key, replicator = in_both_replicas_then_held(two_regions, pinned, start=1)
    for region, name in ((HOME, "a"), (AWAY, "b")):  # one request in each Region, before replication
        with in_region(two_regions, region, pinned=pinned):
            store = SessionStore(key)
            store[name] = 1
            store.save()
    two_regions.settle()
    final = [session_data(two_regions, region, key, pinned=False) for region in (HOME, AWAY)]
    assert final[0] == final[1]  # replication converged either way
    if pinned:
        assert final[0] == {"start": 1, "a": 1, "b": 1}  # merged in the home Region
        assert replicator.dropped == 0
    else:
        assert final[0] in ({"start": 1, "a": 1}, {"start": 1, "b": 1})  # the instrument: one save lost
        assert replicator.dropped == 1


@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
def test_a_logout_in_one_region_stays_final_only_when_pinned(
    two_regions: TwoRegions, table: str, pinned: bool,
) -> None:
    key, _ = in_both_replicas_then_held(two_regions, pinned, cart=1)
    with in_region(two_regions, AWAY, pinned=pinned):
        in_flight = SessionStore(key)
        assert in_flight["cart"] == 1  # a request in eu-west-1 has read the session...
    with in_region(two_regions, HOME, pinned=pinned):
        SessionStore(key).delete()  # ...when the user logs out in us-east-1...
    with in_region(two_regions, AWAY, pinned=pinned):
        in_flight["cart"] = 2
        if pinned:
            with pytest.raises(UpdateError):  # ...and its save fails in the home Region (SessionInterrupted)
                in_flight.save()
        else:
            in_flight.save()  # ...and its save passes eu-west-1's condition
    two_regions.settle()
    left = [stored(two_regions, region, table) for region in (HOME, AWAY)]
    if pinned:
        assert left == [[], []]
    else:
        assert len(left[0]) == len(left[1]) == 1  # the instrument: the logout was undone in both


def test_a_session_is_read_in_its_home_region_before_replication_reaches_this_one(
    two_regions: TwoRegions, table: str,
) -> None:
    assert two_regions.replicator is not None
    two_regions.replicator.hold()
    key = new_session(two_regions, HOME, pinned=True, cart=3)
    assert stored(two_regions, AWAY, table) == []  # not replicated yet
    assert session_data(two_regions, AWAY, key, pinned=True) == {"cart": 3}
    assert session_data(two_regions, AWAY, key, pinned=False) == {}  # unpinned: this replica's nothing


def test_a_key_made_before_regions_were_set_keeps_working_in_the_local_replica(
    two_regions: TwoRegions, table: str,
) -> None:
    key = new_session(two_regions, AWAY, pinned=False, old=1)
    assert len(key) == 32
    with in_region(two_regions, AWAY, pinned=True):
        store = SessionStore(key)
        assert store["old"] == 1
        store["more"] = 2
        store.save()
        assert SessionStore(key).load() == {"old": 1, "more": 2}


@pytest.mark.needs_aiobotocore
async def test_the_native_async_transport_sends_to_the_home_region_too(two_regions: TwoRegions, table: str) -> None:
    assert two_regions.replicator is not None
    two_regions.replicator.hold()
    key = new_session(two_regions, HOME, pinned=True, cart=1)
    with in_region(two_regions, AWAY, pinned=True):
        await aio.connect()
        store = SessionStore(key)
        # The first call for the home Region starts building its client on this loop and is sent
        # through the sync transport meanwhile; once it is built, every call is native.
        assert await store.aload() == {"cart": 1}
        await aio.connect(HOME)
        assert aio.client(HOME) is not None and aio.client(HOME) is not aio.client()
        with count_calls() as sync_calls:
            await store.aset("cart", 2)
            await store.asave()
            assert await SessionStore(key).aload() == {"cart": 2}
        assert sync_calls == {}  # native, to the home Region's replica


# Revocations ------------------------------------------------------------------------------


def test_signing_a_user_out_everywhere_deletes_each_session_in_its_home_region(
    two_regions: TwoRegions, table: str,
) -> None:
    from django.contrib.auth import SESSION_KEY

    replicator = two_regions.replicator
    assert replicator is not None
    here = new_session(two_regions, HOME, pinned=True, **{SESSION_KEY: "7"})
    there = new_session(two_regions, AWAY, pinned=True, **{SESSION_KEY: "7"})
    two_regions.settle()  # the user index of us-east-1 lists both
    replicator.hold()
    with in_region(two_regions, HOME, pinned=True):
        assert users.revoke_all("7") == 2
    # Before any replication: each session is gone from its own home's replica.
    assert [item["id"]["S"] for item in stored(two_regions, HOME, table) if item["id"]["S"] == here] == []
    assert [item["id"]["S"] for item in stored(two_regions, AWAY, table) if item["id"]["S"] == there] == []
    two_regions.settle()
    for region in (HOME, AWAY):
        assert session_data(two_regions, region, here, pinned=True) == {}
        assert session_data(two_regions, region, there, pinned=True) == {}


# When the home Region is unavailable ------------------------------------------------------


@dataclass
class HomeDown:
    """A session homed in us-east-1, replicated, and us-east-1 now failing every call from the
    eu-west-1 site (whose way there goes through a fault proxy)."""

    key: str
    proxy: FaultProxy
    endpoints: dict[str, str]

    def away(self, **more: Any) -> dict[str, Any]:
        """The eu-west-1 site's settings (with no retries, so that its home breaker opens at once)."""
        return {"DYNAMODB_SESSIONS_REGIONS": self.endpoints, "DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS": 0, **more}


@pytest.fixture
def home_down(two_regions: TwoRegions, table: str) -> Iterator[HomeDown]:
    proxy = FaultProxy(two_regions.endpoints[HOME])
    endpoints = {**two_regions.endpoints, HOME: proxy.start()}
    key = new_session(two_regions, HOME, pinned=True, cart=1)
    two_regions.settle()
    proxy.set_fault(faultproxy.SERVER_ERROR)
    yield HomeDown(key, proxy, endpoints)
    proxy.stop()


def test_with_the_home_region_down_a_session_is_read_locally_and_a_write_answers_503(
    two_regions: TwoRegions, home_down: HomeDown, client: Any,
) -> None:
    key = home_down.key
    with in_region(two_regions, AWAY, pinned=True, **home_down.away()):
        for _ in range(3):
            assert SessionStore(key).load() == {"cart": 1}  # each from eu-west-1's replica
        assert calls.breaker(region=HOME).state == OPEN
        assert calls.breaker().state != OPEN  # this Region's own replica is fine
        store = SessionStore(key)
        store["cart"] = 2
        with pytest.raises(SessionStoreUnavailable) as raised:
            store.save()
        assert "home Region us-east-1" in str(raised.value) and raised.value.retry_after >= 1
        client.cookies["sessionid"] = key
        response = client.get("/increment/")
        assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    home_down.proxy.set_fault(faultproxy.PASS)
    two_regions.settle()
    assert session_data(two_regions, HOME, key, pinned=True) == {"cart": 1}  # nothing written anywhere


def test_write_locally_trades_the_guarantees_for_a_write_in_this_region(
    two_regions: TwoRegions, home_down: HomeDown,
) -> None:
    key = home_down.key
    write_locally = home_down.away(DYNAMODB_SESSIONS_HOME_UNAVAILABLE=conf.WRITE_LOCALLY)
    with in_region(two_regions, AWAY, pinned=True, **write_locally):
        store = SessionStore(key)
        store["cart"] = 2
        store.save()
    assert session_data(two_regions, AWAY, key, pinned=False) == {"cart": 2}
    home_down.proxy.set_fault(faultproxy.PASS)
    two_regions.settle()
    assert session_data(two_regions, HOME, key, pinned=False) == {"cart": 2}  # replicated home


# Checks -----------------------------------------------------------------------------------


def test_the_regions_must_name_this_process_and_its_endpoint(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-west-2": None, "eu-west-1": None}
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E005"]
    assert "DYNAMODB_REGION = 'us-east-1'" in error.msg and "'us-west-2'" in error.msg
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": None, "eu-west-1": None}
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E005"]
    assert "DYNAMODB_LOCAL_ENDPOINT" in error.msg
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT, "use-ast-1": None}
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E005"]
    assert "differ only in their dashes" in error.msg  # both would give a key the code 'useast1'
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT}
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E001"]
    assert "DYNAMODB_SESSIONS_REGIONS must be None or a dict of two or more" in error.msg
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT, "eu-west-1": None}
    assert [m.id for m in checks.check_settings() if m.level >= django_checks.ERROR] == []


def test_the_cached_engine_with_regions_is_a_warning(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT, "eu-west-1": None}
    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    assert "pynamo_sessions.W006" in [m.id for m in checks.check_settings()]
    settings.SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
    assert "pynamo_sessions.W006" not in [m.id for m in checks.check_settings()]


def test_an_eventually_consistent_global_table_with_pinning_warns_only_of_unpinned_replicas(
    proxy: FaultProxy, own_table: str, settings: Any,
) -> None:
    from pynamo_sessions import create_table

    create_table()
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT, "eu-west-1": None}
    proxy.table_description = {"Replicas": [{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}]}
    assert [m.id for m in checks.check_table() if m.id == "pynamo_sessions.W106"] == []
    proxy.table_description = {"Replicas": [{"RegionName": r} for r in ("us-east-1", "eu-west-1", "ap-south-1")]}
    (warning,) = [m for m in checks.check_table() if m.id == "pynamo_sessions.W106"]
    assert "ap-south-1" in warning.msg and "not pinned" in warning.msg


def test_the_harness_replicates_with_last_writer_wins(two_regions: TwoRegions, table: str) -> None:
    """The instrument itself: a write in each Region before either is replicated leaves the later
    one in both replicas, and counts the earlier one as dropped."""
    replicator = two_regions.replicator
    assert replicator is not None
    replicator.hold()
    for region, value in ((HOME, "1"), (AWAY, "2")):
        harness.client(two_regions.endpoints[region], region).put_item(
            TableName=table, Item={"id": {"S": "k"}, "v": {"S": value}})
    two_regions.settle()
    values = [[item["v"]["S"] for item in stored(two_regions, region, table)] for region in (HOME, AWAY)]
    assert values == [["2"], ["2"]]
    assert replicator.dropped == 1 and replicator.replicated == 1


def test_the_request_policy_covers_the_table_in_every_region(settings: Any) -> None:
    """A request in one Region reads and writes sessions homed in the others: its role needs the
    table (and index) in each."""
    import json
    from io import StringIO

    from django.core.management import call_command

    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_REGIONS = {"us-east-1": settings.DYNAMODB_LOCAL_ENDPOINT, "eu-west-1": None}
    out = StringIO()
    call_command("sessionpolicy", "--account", "123456789012", stdout=out)
    table, index = (statement["Resource"] for statement in json.loads(out.getvalue())["Statement"])
    arn = "arn:aws:dynamodb:{}:123456789012:table/" + settings.DYNAMODB_SESSIONS_TABLE
    assert table == [arn.format("us-east-1"), arn.format("eu-west-1")]
    assert index == [f"{arn.format(region)}/index/user_id-index" for region in ("us-east-1", "eu-west-1")]


def test_each_regions_sweep_deletes_only_the_expired_sessions_homed_there(
    two_regions: TwoRegions, table: str,
) -> None:
    """An expired-looking session homed elsewhere may have been refreshed there a moment ago:
    deleting it from this replica would win over that save once replicated."""
    from pynamo_sessions.operations import cleanup

    assert two_regions.replicator is not None
    keys_by_home = {region: new_session(two_regions, region, pinned=True, n=1) for region in (HOME, AWAY)}
    two_regions.settle()
    two_regions.replicator.hold()
    for region in (HOME, AWAY):  # both expired in eu-west-1's replica, as it may show them
        harness.client(two_regions.endpoints[AWAY], AWAY).update_item(
            TableName=table, Key={"id": {"S": keys_by_home[region]}},
            UpdateExpression="SET #t = :past", ExpressionAttributeNames={"#t": "ttl"},
            ExpressionAttributeValues={":past": {"N": "1000"}})
    with in_region(two_regions, AWAY, pinned=True):
        swept = cleanup.clear_expired(ignore_ttl=True)
    assert (swept.found, swept.deleted) == (1, 1)
    left = {item["id"]["S"] for item in stored(two_regions, AWAY, table)}
    assert left == {keys_by_home[HOME]}  # homed in us-east-1: left to that Region's sweep


def test_a_revocation_that_one_region_left_incomplete_says_what_every_region_did() -> None:
    from pynamo_sessions import RevocationIncomplete
    from pynamo_sessions.store import deletion

    def delete(region: str | None, item_keys: list[str]) -> list[str]:
        if region == AWAY:
            raise RevocationIncomplete("throttled", deleted=item_keys[:1], remaining=item_keys[1:], cause=None)
        return item_keys

    with pytest.raises(RevocationIncomplete) as raised:
        deletion.in_each_region({None: ["a", "b"], AWAY: ["c", "d"]}, delete)
    assert raised.value.deleted == ["a", "b", "c"] and raised.value.remaining == ["d"]
    assert "Signed out 3 of 4 sessions; 1 are STILL signed in" in str(raised.value)
    assert deletion.in_each_region({None: ["a"], AWAY: ["c"]}, lambda region, item_keys: item_keys) == ["a", "c"]
