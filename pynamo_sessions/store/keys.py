"""Session keys: which cookie values we accept, and the item key a session is stored under."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.conf import settings
from django.utils.crypto import salted_hmac

from pynamo_sessions.conf import Regions, Snapshot

# Django generates 32 characters of [a-z0-9]. Anything else in a cookie was not made by Django's
# session machinery, so it is refused before it reaches DynamoDB: no validation error from an
# empty, huge or binary key, and no read spent on it. The upper bound leaves room for keys of
# custom backends being migrated, far below DynamoDB's 2,048-byte key limit.
VALID_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")
_HMAC_SALT = "pynamo_sessions.keys.item_key"
#: Where a revocation leaves word that a session was signed out from elsewhere, by its item key.
#: ':' never appears in a key a cookie may carry, so no cookie can name one of these items.
SIGNED_OUT_PREFIX = "pynamo_sessions:signed-out:"
#: How long Django's keys are: a key of DYNAMODB_SESSIONS_REGIONS adds its home Region's code.
RANDOM_PART = 32
_HMAC_LENGTH = 64
# A home Region's code: a region code without its dashes ("euwest1"). Read from a key whatever
# the settings say, so that a key keeps its item key when DYNAMODB_SESSIONS_REGIONS changes.
_HOME_CODE = re.compile(r"[a-z]{4,16}[0-9]{1,2}")


def is_valid(session_key: object) -> bool:
    return isinstance(session_key, str) and VALID_SESSION_KEY.fullmatch(session_key) is not None


def item_key(session_key: str, *, hashed: bool, prefix: str = "") -> str:
    """The hash key the session is stored under with the current SECRET_KEY, after the site's
    DYNAMODB_SESSIONS_KEY_PREFIX. An HMAC keeps the key's home Region code after it, so that a
    revocation that knows only the item key still sends it to the session's home Region."""
    if not hashed:
        return prefix + session_key
    return prefix + _hmac(session_key, settings.SECRET_KEY) + home_code(session_key)


def new_key(random_part: str, regions: Regions | None) -> str:
    """A new session's key: Django's 32 random characters, and with DYNAMODB_SESSIONS_REGIONS the
    code of the Region creating it, its home."""
    return random_part if regions is None else random_part + regions.local_code


def home_code(session_key: str) -> str:
    """The home Region code a session key ends with, or '' (Django's keys, imported ones)."""
    code = session_key[RANDOM_PART:]
    return code if code and _HOME_CODE.fullmatch(code) else ""


def home_of_item(item_key: str, snapshot: Snapshot) -> str | None:
    """The Region whose replica holds the conditions of the session stored under ``item_key`` (or
    of its signed-out notice), when it is another than this process's; None: the local one (no
    Regions set, a key without a home, a home here, or a Region no longer listed). Read from the
    item key, which keeps the code hashed too: a revocation knows only the item key."""
    regions = snapshot.regions
    if regions is None:
        return None
    prefix = snapshot.key_prefix
    body = (item_key[len(prefix):] if item_key.startswith(prefix) else item_key).removeprefix(SIGNED_OUT_PREFIX)
    code = body[_HMAC_LENGTH if snapshot.hash_keys else RANDOM_PART:]
    region = regions.by_code.get(code) if _HOME_CODE.fullmatch(code) else None
    return None if region is None or region == regions.local else region


def fallback_item_keys(session_key: str, *, hashed: bool, prefix: str = "", unprefixed: bool = False) -> Iterator[str]:
    """Where a session may still be stored: under an HMAC of a SECRET_KEY_FALLBACKS secret (after a
    rotation), and with ``unprefixed`` without the prefix (a site that has just set one)."""
    home = home_code(session_key)
    if hashed:
        for secret in getattr(settings, "SECRET_KEY_FALLBACKS", ()):
            yield prefix + _hmac(session_key, secret) + home
    if unprefixed and prefix:
        yield item_key(session_key, hashed=hashed)
        if hashed:
            for secret in getattr(settings, "SECRET_KEY_FALLBACKS", ()):
                yield _hmac(session_key, secret) + home


def internal(kind: str, item_key: str, prefix: str) -> str:
    """The key of one of our own small items about ``item_key`` (``kind`` is SIGNED_OUT_PREFIX, or
    the import's record): under the site's prefix too, so IAM's LeadingKeys allows it."""
    inner = item_key[len(prefix):] if prefix and item_key.startswith(prefix) else item_key
    return prefix + kind + inner


def user_value(user_id: object, prefix: str) -> str:
    """What a session's user index attribute holds for ``user_id``: a Query on the index carries
    only this value, so it carries the prefix for LeadingKeys to hold a site to its own users."""
    return prefix + str(user_id)


def _hmac(session_key: str, secret: str | bytes) -> str:
    return salted_hmac(_HMAC_SALT, session_key, secret=secret, algorithm="sha256").hexdigest()


def redact(session_key: str | None) -> str:
    """What logs show of a session key: enough to correlate lines, never enough to use it."""
    if not session_key:
        return "<none>"
    return f"{session_key[:4]}…({len(session_key)} chars)"
