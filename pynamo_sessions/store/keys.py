"""Session keys: which cookie values we accept, and the item key a session is stored under."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.conf import settings
from django.utils.crypto import salted_hmac

# Django generates 32 characters of [a-z0-9]. Anything else in a cookie was not made by Django's
# session machinery, so it is refused before it reaches DynamoDB: no validation error from an
# empty, huge or binary key, and no read spent on it. The upper bound leaves room for keys of
# custom backends being migrated, far below DynamoDB's 2,048-byte key limit.
VALID_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")
_HMAC_SALT = "pynamo_sessions.keys.item_key"
#: Where a revocation leaves word that a session was signed out from elsewhere, by its item key.
#: ':' never appears in a key a cookie may carry, so no cookie can name one of these items.
SIGNED_OUT_PREFIX = "pynamo_sessions:signed-out:"


def is_valid(session_key: object) -> bool:
    return isinstance(session_key, str) and VALID_SESSION_KEY.fullmatch(session_key) is not None


def item_key(session_key: str, *, hashed: bool) -> str:
    """The hash key the session is stored under with the current SECRET_KEY."""
    if not hashed:
        return session_key
    return _hmac(session_key, settings.SECRET_KEY)


def fallback_item_keys(session_key: str) -> Iterator[str]:
    """Where a hashed session may still be stored after a SECRET_KEY rotation."""
    for secret in getattr(settings, "SECRET_KEY_FALLBACKS", ()):
        yield _hmac(session_key, secret)


def _hmac(session_key: str, secret: str | bytes) -> str:
    return salted_hmac(_HMAC_SALT, session_key, secret=secret, algorithm="sha256").hexdigest()


def redact(session_key: str | None) -> str:
    """What logs show of a session key: enough to correlate lines, never enough to use it."""
    if not session_key:
        return "<none>"
    return f"{session_key[:4]}…({len(session_key)} chars)"
