"""Encryption at rest (DYNAMODB_SESSIONS_ENCRYPT): what a reader of the table sees, the keys and
their rotation, values bound to their item, live switching, and every place the data goes.

Items are read back with a plain botocore client (the ``raw`` fixture), never through the store.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from pynamo_sessions import SessionTooLarge, checks, conf, create_table
from pynamo_sessions.backends.dynamodb import SessionStore as PlainStore
from pynamo_sessions.operations import devices, users
from pynamo_sessions.store import addresses, models, sealing
from tests.helpers import Via

MARKER = "Zebra-7e1f-marker"
FIREFOX = f"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 {MARKER}"
ROOT = Path(__file__).resolve().parent.parent


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def encodings(text: str) -> list[bytes]:
    """``text`` as a reader might find it: raw, and in base64 at each of its three alignments."""
    raw = text.encode()
    found = [raw]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)[4 * shift // 3 + 2:-4]  # the stable middle
        found += [encoded, encoded.replace(b"+", b"-").replace(b"/", b"_")]
    return found


def leaks(value: Any, text: str) -> bool:
    """Whether ``value`` (an item as botocore returns it, or anything inside) shows ``text``."""
    if isinstance(value, dict):
        return any(leaks(k, text) or leaks(v, text) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(leaks(v, text) for v in value)
    blob = value.encode() if isinstance(value, str) else value if isinstance(value, bytes) else repr(value).encode()
    return any(needle in blob for needle in encodings(text))


@pytest.fixture
def encrypted(settings: Any, tracked: str) -> str:
    settings.DYNAMODB_SESSIONS_ENCRYPT = True
    return tracked


def signed_in_store(store_class: type[Any], **data: Any) -> Any:
    store = store_class()
    store.update({"_auth_user_id": "42", "secret": MARKER, **data})
    store.client_info = (FIREFOX, "203.0.113.77")
    store.save()
    return store


def test_the_leak_check_finds_a_marker_in_every_encoding() -> None:
    # Without this, a check that can never fire would pass every test below.
    assert leaks({"a": {"S": f"x{MARKER}y"}}, MARKER)
    for shift in range(3):
        assert leaks({"a": {"S": base64.b64encode(b"." * shift + MARKER.encode()).decode()}}, MARKER)
        assert leaks({"a": {"B": base64.urlsafe_b64encode(b"." * shift + MARKER.encode())}}, MARKER)
    assert leaks({"a": {"S": PlainStore().encode({"secret": MARKER})}}, MARKER)  # how Django stores it
    assert not leaks({"a": {"S": "nothing here"}}, MARKER)


async def test_no_reader_of_the_table_or_the_cache_sees_the_data_or_the_client(
    encrypted: str, SessionStore: type[Any], via: Via, raw_item: Any,
) -> None:
    store = SessionStore()
    store.update({"_auth_user_id": "42", "secret": MARKER, "cart": [MARKER] * 3})
    store.client_info = (FIREFOX, "203.0.113.77")
    await via(store, "save")
    item = raw_item(store.session_key)
    assert not leaks(item, MARKER) and not leaks(item, "203.0.113") and not leaks(item, "Firefox")
    for name in ("session_data", "user_agent", "ip_address"):
        assert list(item[name]) == ["B"] and item[name]["B"][:1] == sealing.FORMAT
    # What DynamoDB needs stays as it was.
    assert item["id"] == {"S": store.session_key} and item["user_id"] == {"S": "42"}
    assert set(item["ttl"]) == {"N"} and item["version"] == {"N": "1"}
    cache = caches["default"]
    cached = [cache.get(key) for key in list(getattr(cache, "_cache", {}))]
    assert not leaks([value for value in cached if value is not None], MARKER)
    # And it all reads back: the session, and the page's device and address.
    loaded = SessionStore(store.session_key)
    assert await via(loaded, "load") == {"_auth_user_id": "42", "secret": MARKER, "cart": [MARKER] * 3}
    assert PlainStore(store.session_key).load()["secret"] == MARKER  # from DynamoDB, past any cache
    (listed,) = users.list_sessions("42")
    assert devices.describe(listed.user_agent) == "Firefox on Linux" and listed.ip_address == "203.0.113.77"


def test_the_cached_engine_caches_the_sealed_value_and_reads_it(encrypted: str, settings: Any) -> None:
    from pynamo_sessions.backends.cached_dynamodb import SessionStore

    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    store = signed_in_store(SessionStore)
    entry = caches["default"].get(SessionStore()._cache_key(store.session_key))
    assert isinstance(entry[1], bytes) and not leaks(entry, MARKER)
    models.bound_model()(store.session_key).delete(add_version_condition=False)  # DynamoDB forgets it
    assert SessionStore(store.session_key).load()["secret"] == MARKER  # so this came from the cache


def test_keys_rotate_the_first_encrypts_and_every_one_decrypts(
    encrypted: str, settings: Any, raw_item: Any,
) -> None:
    old, new = new_key(), new_key()
    settings.DYNAMODB_SESSIONS_ENCRYPTION_KEYS = [old]
    store = signed_in_store(PlainStore)
    sealed_by_old = raw_item(store.session_key)["session_data"]["B"]
    settings.DYNAMODB_SESSIONS_ENCRYPTION_KEYS = [new, old]
    rotated = PlainStore(store.session_key)
    assert rotated.load()["secret"] == MARKER
    rotated["n"] = 1
    rotated.save()
    sealed_by_new = raw_item(store.session_key)["session_data"]["B"]
    assert sealed_by_new[1:5] == sealing.key_id(base64.urlsafe_b64decode(new)) != sealed_by_old[1:5]
    settings.DYNAMODB_SESSIONS_ENCRYPTION_KEYS = [new]  # the old key retired
    assert PlainStore(store.session_key).load() == {"_auth_user_id": "42", "secret": MARKER, "n": 1}


def test_derived_keys_follow_a_secret_key_rotation_done_the_django_way(
    encrypted: str, settings: Any, raw_item: Any,
) -> None:
    settings.SECRET_KEY = "the-old-secret-" + "x" * 40
    store = signed_in_store(PlainStore)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the-new-secret-" + "y" * 40, [settings.SECRET_KEY]
    rotated = PlainStore(store.session_key)
    assert rotated.load()["secret"] == MARKER  # nobody logged out
    rotated["n"] = 1
    rotated.save()  # re-encrypted under the new secret at its next write
    settings.SECRET_KEY_FALLBACKS = []
    assert PlainStore(store.session_key).load()["n"] == 1
    assert not leaks(raw_item(store.session_key), MARKER)


def test_a_value_that_does_not_decrypt_is_an_empty_session_and_a_warning_that_names_nothing(
    encrypted: str, settings: Any, raw: Any, raw_item: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    victim, other = signed_in_store(PlainStore), signed_in_store(PlainStore, flag_qz=1)
    table = settings.DYNAMODB_SESSIONS_TABLE
    stolen = raw_item(victim.session_key)["session_data"]
    tampered = bytearray(raw_item(other.session_key)["session_data"]["B"])
    tampered[-1] ^= 1
    cases = {
        "moved to another item": stolen,
        "tampered with": {"B": bytes(tampered)},
        "under an unknown key": {"B": sealing.seal("x", sealing.keyring([new_key()]), table=table,
                                                   item_key=other.session_key, attribute="data")},
        "a format this release does not know": {"B": b"\x07" + stolen["B"][1:]},
        "too short to hold anything": {"B": b"\x01ab"},
    }
    for case, value in cases.items():
        raw.update_item(TableName=table, Key={"id": {"S": other.session_key}},
                        UpdateExpression="SET session_data = :v", ExpressionAttributeValues={":v": value})
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pynamo_sessions"):
            assert PlainStore(other.session_key).load() == {}, case
        (record,) = [r for r in caplog.records if r.name == "pynamo_sessions"]
        assert "'data' attribute is encrypted under a key this site does not have" in record.getMessage()
        for secret in (other.session_key, victim.session_key, MARKER, "flag_qz"):
            assert secret not in record.getMessage(), case
    assert PlainStore(victim.session_key).load()["secret"] == MARKER  # the victim's own item still reads
    # The same ciphertext in another table with the same key does not open either: the table is bound.
    value = raw_item(victim.session_key)["session_data"]["B"]
    keys = sealing.keyring(None)
    assert sealing.unseal(value, keys, table=table, item_key=victim.session_key, attribute="data")
    with pytest.raises(sealing.Unreadable):
        sealing.unseal(value, keys, table=table + "-copy", item_key=victim.session_key, attribute="data")
    with pytest.raises(sealing.Unreadable):
        sealing.unseal(value, keys, table=table, item_key=victim.session_key, attribute="user_agent")


def test_a_page_with_an_unreadable_device_shows_an_unknown_one(encrypted: str, raw: Any, settings: Any) -> None:
    store = signed_in_store(PlainStore)
    ip = models.bound_model().get(store.session_key).ip_address
    raw.update_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": store.session_key}},
                    UpdateExpression="SET user_agent = :v", ExpressionAttributeValues={":v": {"B": ip}})
    (listed,) = users.list_sessions("42")
    assert listed.user_agent is None and listed.ip_address == "203.0.113.77"


async def test_turning_encryption_on_and_off_on_a_live_site_logs_nobody_out(
    settings: Any, own_table: str, SessionStore: type[Any], via: Via, raw_item: Any,
) -> None:
    create_table()
    before = SessionStore()
    before["step"] = "plain"
    await via(before, "save")
    assert list(raw_item(before.session_key)["session_data"]) == ["S"]
    settings.DYNAMODB_SESSIONS_ENCRYPT = True
    on = SessionStore(before.session_key)
    assert await via(on, "load") == {"step": "plain"}
    on["step"] = "sealed"
    await via(on, "save")
    assert list(raw_item(before.session_key)["session_data"]) == ["B"]  # encrypted at its next write
    settings.DYNAMODB_SESSIONS_ENCRYPT = False
    off = SessionStore(before.session_key)
    assert await via(off, "load") == {"step": "sealed"}  # still readable with it off
    off["step"] = "plain again"
    await via(off, "save")
    assert list(raw_item(before.session_key)["session_data"]) == ["S"]
    assert await via(SessionStore(before.session_key), "load") == {"step": "plain again"}


def test_parallel_saves_merge_what_they_decrypt(encrypted: str, SessionStore: type[Any], raw_item: Any) -> None:
    first = signed_in_store(SessionStore, shared=0)
    one, two = SessionStore(first.session_key), SessionStore(first.session_key)
    one._get_session(), two._get_session()  # both read version 1
    one["tab1"] = MARKER
    one.save()
    two["tab2"] = 1
    two.save()  # conflicts, re-reads the sealed item, merges and writes it sealed again
    assert two.merged
    assert PlainStore(first.session_key).load() == {"_auth_user_id": "42", "secret": MARKER, "shared": 0,
                                                    "tab1": MARKER, "tab2": 1}
    assert not leaks(raw_item(first.session_key), MARKER)


def test_the_size_guard_counts_the_encrypted_size(
    encrypted: str, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = signed_in_store(PlainStore)
    probe = PlainStore(store.session_key)
    probe.load()
    probe["big"] = "x" * 5000
    settings.DYNAMODB_SESSIONS_ENCRYPT = False
    plain, _ = probe._item(store.session_key, probe._get_session(), probe.get_expiry_date(), None,
                           probe._stored.version, conf.current())
    # A limit the plain item fits in and the sealed one (49 bytes more: format, key id, salt, nonce, tag)
    # does not.
    monkeypatch.setattr(models, "ITEM_SIZE_LIMIT", plain.size() + 40)
    settings.DYNAMODB_SESSIONS_ENCRYPT = True
    with pytest.raises(SessionTooLarge):
        probe.save()
    assert PlainStore(store.session_key).load()["secret"] == MARKER  # the old data intact
    assert "big" not in PlainStore(store.session_key).load()


def test_imported_sessions_are_stored_encrypted(encrypted: str, settings: Any, raw_item: Any, db: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore as DjangoDB

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    old = DjangoDB()
    old.update({"_auth_user_id": "42", "secret": MARKER})
    old.create()
    settings.SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
    call_command("importsessions", "--from", "db", verbosity=0)
    assert not leaks(raw_item(old.session_key), MARKER)
    assert PlainStore(old.session_key).load()["secret"] == MARKER


def test_revocation_notices_hold_nothing_in_the_clear(encrypted: str, raw_item: Any) -> None:
    store = signed_in_store(PlainStore)
    (listed,) = users.list_sessions("42")
    assert users.revoke("42", listed.key)
    notice = raw_item("pynamo_sessions:signed-out:" + store.session_key)
    assert notice is not None and list(notice["session_data"]) == ["B"]


# How much of the address is kept -------------------------------------------------------------

@pytest.mark.parametrize(("address", "mode", "kept"), [
    ("203.0.113.77", "full", "203.0.113.77"),
    ("203.0.113.77", "truncated", "203.0.113.0/24"),
    ("2001:db8:1:2:3:4:5:6", "truncated", "2001:db8:1::/48"),
    ("::ffff:203.0.113.77", "truncated", "203.0.113.0/24"),
    ("unknown", "truncated", None),
    ("", "full", None),
    ("203.0.113.77", "none", None),
])
def test_the_address_kept(address: str, mode: str, kept: str | None) -> None:
    assert addresses.kept_address(address, mode) == kept


@pytest.mark.django_db
@pytest.mark.parametrize(("mode", "heading", "shown", "note"), [
    ("full", "IP address", "203.0.113.77", None),
    ("truncated", "Network", "203.0.113.0/24", "the first part of its IP address only"),
    ("none", None, None, "IP addresses are not kept."),
])
def test_the_page_says_what_it_shows_of_addresses(
    encrypted: str, settings: Any, raw_item: Any, mode: str, heading: str | None, shown: str | None,
    note: str | None,
) -> None:
    from django.contrib.auth.models import User

    settings.DYNAMODB_SESSIONS_CLIENT_IP = mode
    User.objects.create_user("alice", password="alice-password-1")
    browser = Client(REMOTE_ADDR="203.0.113.77")
    assert browser.login(username="alice", password="alice-password-1")
    browser.get("/increment/", HTTP_USER_AGENT=FIREFOX)
    page = browser.get("/account/sessions/").content.decode()
    assert ("<th scope=\"col\">IP address</th>" in page) == (heading == "IP address")
    assert ("<th scope=\"col\">Network</th>" in page) == (heading == "Network")
    assert "203.0.113.77" not in page if shown != "203.0.113.77" else "203.0.113.77" in page
    if shown:
        assert shown in page
    assert (note in page) if note else '<p class="pynamo-sessions-note">' not in page
    item = raw_item(browser.cookies["sessionid"].value)
    assert ("ip_address" in item) == (mode != "none")


# Settings and checks -------------------------------------------------------------------------

@pytest.mark.parametrize(("keys", "reason"), [
    (["c2hvcnQ="], "key 1 decodes to 5 bytes, not 32"),
    ([new_key()[:-2] + "!!"], "key 1 is not URL-safe base64"),
    (["same" * 10 + "abc=", "same" * 10 + "abc="], None),  # replaced below by a real duplicate
    ([], "must be None or a non-empty list"),
    ("one-key-not-a-list", "must be None or a non-empty list"),
])
def test_a_malformed_key_is_refused_with_the_command_that_makes_a_good_one(
    settings: Any, keys: Any, reason: str | None,
) -> None:
    if reason is None:
        key = new_key()
        keys, reason = [key, new_key(), key], "key 3 repeats an earlier one"
    settings.DYNAMODB_SESSIONS_ENCRYPTION_KEYS = keys
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E001"]
    assert "DYNAMODB_SESSIONS_ENCRYPTION_KEYS" in error.msg and reason in error.msg
    assert "base64.urlsafe_b64encode(os.urandom(32))" in error.hint
    for key in keys if isinstance(keys, list) else [keys]:
        assert key not in error.msg and key not in error.hint  # the keys are secrets


def test_the_key_command_in_the_hint_makes_a_key_the_check_accepts(settings: Any) -> None:
    from pynamo_sessions.conf import values

    made = subprocess.run([sys.executable, "-c", values.ENCRYPTION_KEY_COMMAND.split(" -c ", 1)[1].strip('"')],
                          capture_output=True, text=True, check=True).stdout.strip()
    settings.DYNAMODB_SESSIONS_ENCRYPTION_KEYS = [made]
    assert [m for m in checks.check_settings() if m.id == "pynamo_sessions.E001"] == []


def test_encryption_without_the_cryptography_package_is_a_check_error(
    settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.DYNAMODB_SESSIONS_ENCRYPT = True
    assert [m for m in checks.check_settings() if m.id == "pynamo_sessions.E003"] == []
    monkeypatch.setattr(sealing, "available", lambda: False)
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E003"]
    assert "pip install 'pynamo-sessions[encryption]'" in error.hint


@pytest.mark.parametrize("encrypt", [False, True])
def test_cryptography_is_imported_only_when_encryption_is_on(dynamodb_local: str, encrypt: bool) -> None:
    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; django.setup()\n"
        "from django.test.utils import override_settings\n"
        f"override_settings(DYNAMODB_LOCAL_ENDPOINT={dynamodb_local!r}, DYNAMODB_SESSIONS_ENCRYPT={encrypt},\n"
        "                  DYNAMODB_SESSIONS_TABLE='cryptography-imported').enable()\n"
        "from pynamo_sessions import create_table; create_table()\n"
        "from pynamo_sessions.backends.dynamodb import SessionStore\n"
        "s = SessionStore(); s['a'] = 1; s.save(); assert SessionStore(s.session_key).load() == {'a': 1}\n"
        "print('cryptography' in sys.modules)"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(encrypt)


def test_each_value_is_sealed_under_a_key_of_its_own(settings: Any) -> None:
    # GCM with random nonces is good for about 2**32 messages per key; a key per value has no
    # such limit. The master key alone opens nothing.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = new_key()
    keys = sealing.keyring([key])
    one, two = (sealing.seal("same", keys, table="t", item_key="k", attribute="data") for _ in range(2))
    assert one[5:21] != two[5:21]  # the salts
    for value in (one, two):
        assert sealing.unseal(value, keys, table="t", item_key="k", attribute="data") == "same"
        with pytest.raises(InvalidTag):
            AESGCM(base64.urlsafe_b64decode(key)).decrypt(value[21:33], value[33:],
                                                           sealing._additional_data("t", "k", "data"))
