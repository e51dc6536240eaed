"""Encryption at rest: AES-256-GCM for what a session item holds, bound to its table and item.

A sealed value is stored as a DynamoDB binary (B) attribute, a plain one as a string (S): the
attribute's type says which it is, so reading never guesses, and items written before encryption
was turned on (or after it was turned off) read as they always did. A sealed value is

    FORMAT (1 byte) | key id (4 bytes) | salt (16 bytes) | nonce (12 bytes) | ciphertext and GCM tag

Each value is sealed under a key of its own, HMAC-SHA256 of the configured key and a random salt:
GCM with random nonces is safe for about 2^32 messages per key, which a busy site's saves would
reach within months; with a key per value there is no such limit. Its additional data names the
table, the item key and the attribute, so a value copied to another item, another attribute or
another table does not decrypt. ``cryptography`` is imported
only when a value is sealed or unsealed: a site without encryption never loads it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pynamo_sessions import conf
from pynamo_sessions.conf import values

logger = logging.getLogger("pynamo_sessions")

FORMAT = b"\x01"
_KEY_ID_SIZE = 4
_SALT_SIZE = 16
_NONCE_SIZE = 12
_HEADER_SIZE = len(FORMAT) + _KEY_ID_SIZE + _SALT_SIZE + _NONCE_SIZE
_VALUE_KEY = b"pynamo_sessions.sealing.value-key"
# What HKDF is told the derived key is for: a key derived from SECRET_KEY for this use is no
# use for any other (Django's signing, our hashed keys).
_DERIVATION_INFO = b"pynamo_sessions.sealing.session-data"
#: What ``pip install`` needs for encryption.
EXTRA = "pip install 'pynamo-sessions[encryption]'"


class Unreadable(Exception):
    """A sealed value that none of the keys opens: another key, tampered with, or moved."""


def key_id(key: bytes) -> bytes:
    """Which key sealed a value, without revealing anything about the key."""
    return hashlib.sha256(b"pynamo_sessions.sealing.key-id" + key).digest()[:_KEY_ID_SIZE]


class Keyring(NamedTuple):
    """The keys in force, by key id: the first seals, every one opens."""

    sealing: bytes
    sealing_id: bytes
    by_id: dict[bytes, bytes]


def _aesgcm() -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Encrypted sessions need the cryptography package: {EXTRA}."
        ) from exc
    return AESGCM


def _derive(secret: str | bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    material = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=values.ENCRYPTION_KEY_SIZE, salt=None, info=_DERIVATION_INFO)
    return hkdf.derive(material)


@functools.lru_cache(maxsize=8)
def _keyring(configured: tuple[str, ...] | None, secrets: tuple[str | bytes, ...]) -> Keyring:
    if configured is not None:
        raw = [values.encryption_key(text) for text in configured]
    else:
        _aesgcm()  # says which extra is missing, before HKDF's import would
        raw = [_derive(secret) for secret in secrets]
    by_id = {key_id(key): key for key in reversed(raw)}  # the first wins an id it shares
    return Keyring(raw[0], key_id(raw[0]), by_id)


def _cipher(key: bytes, salt: bytes) -> Any:
    """AES-256-GCM under the value's own key."""
    return _aesgcm()(hmac.digest(key, _VALUE_KEY + salt, "sha256"))


def keyring(configured: Sequence[str] | None) -> Keyring:
    """The keys of DYNAMODB_SESSIONS_ENCRYPTION_KEYS, or, unset, those derived from SECRET_KEY
    and each of SECRET_KEY_FALLBACKS (read now, so a rotation takes effect at once)."""
    secrets = () if configured is not None else (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return _keyring(None if configured is None else tuple(configured), tuple(secrets))


def _additional_data(table: str, item_key: str, attribute: str) -> bytes:
    # Lengths first, so that no choice of names can make two different triples read alike.
    parts = [part.encode() for part in (table, item_key, attribute)]
    return FORMAT + b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def seal(text: str, keys: Keyring, *, table: str, item_key: str, attribute: str) -> bytes:
    salt, nonce = os.urandom(_SALT_SIZE), os.urandom(_NONCE_SIZE)
    sealed: bytes = _cipher(keys.sealing, salt).encrypt(nonce, text.encode(),
                                                       _additional_data(table, item_key, attribute))
    return FORMAT + keys.sealing_id + salt + nonce + sealed


def unseal(value: bytes, keys: Keyring, *, table: str, item_key: str, attribute: str) -> str:
    """The text sealed in ``value``; raises Unreadable when no key opens it for this item."""
    key = keys.by_id.get(value[len(FORMAT):len(FORMAT) + _KEY_ID_SIZE])
    if value[:len(FORMAT)] != FORMAT or key is None or len(value) < _HEADER_SIZE:
        raise Unreadable
    from cryptography.exceptions import InvalidTag

    salt_at = len(FORMAT) + _KEY_ID_SIZE
    salt, nonce = value[salt_at:salt_at + _SALT_SIZE], value[salt_at + _SALT_SIZE:_HEADER_SIZE]
    try:
        plain = _cipher(key, salt).decrypt(nonce, value[_HEADER_SIZE:], _additional_data(table, item_key, attribute))
        return bytes(plain).decode()
    except (InvalidTag, UnicodeDecodeError) as exc:
        raise Unreadable from exc


def available() -> bool:
    """Whether the cryptography package can be imported (without importing it)."""
    from importlib.util import find_spec

    return find_spec("cryptography") is not None


# What the stores call: the rule for one value, whichever engine and transport. ----------------

def stored_value(text: str, snapshot: conf.Snapshot, *, item_key: str, attribute: str) -> str | bytes:
    """What an item holds for ``text``: sealed with DYNAMODB_SESSIONS_ENCRYPT, else the text."""
    if not snapshot.encrypt:
        return text
    return seal(text, keyring(snapshot.encryption_keys), table=snapshot.table_name, item_key=item_key,
                attribute=attribute)


def text_of(value: str | bytes | None, snapshot: conf.Snapshot, *, item_key: str, attribute: str) -> str | None:
    """The text an item holds: a string as it is, a sealed value opened (whether or not
    encryption is on now, so turning it off loses nothing). None when no key opens it: logged,
    naming neither the session nor anything it holds."""
    if value is None or isinstance(value, str):
        return value
    try:
        return unseal(bytes(value), keyring(snapshot.encryption_keys), table=snapshot.table_name,
                      item_key=item_key, attribute=attribute)
    except Unreadable:
        logger.warning(
            "A session item's %r attribute is encrypted under a key this site does not have, or was "
            "changed or copied from another item; it reads as empty (check "
            "DYNAMODB_SESSIONS_ENCRYPTION_KEYS, SECRET_KEY and SECRET_KEY_FALLBACKS).", attribute,
        )
        return None
