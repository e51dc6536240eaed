"""What each setting's value may be: checks that return None for an acceptable value, else the
end of a sentence saying what it must be ("must be a positive number"), which ``Setting``
completes with the setting's name and the value it got."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

RETRY_MODES = ("standard",)
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")

Check = Callable[[Any], "str | None"]

def optional_url(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and re.match(r"https?://[^\s/]+", value)):
        return None
    return "must be None or an http(s) URL such as 'http://localhost:8000'"


# An AWS region's code: a partition prefix, words, a number ("eu-west-1", "us-gov-west-1",
# "cn-north-1", "eusc-de-east-1"). Catches a name ("Ireland"), a missing dash ("eu-west1"),
# capitals and a letter l for the digit 1, which botocore would only refuse at the first request.
REGION_CODE = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")


def optional_name(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and REGION_CODE.fullmatch(value)):
        return None
    return "must be None or an AWS region code such as 'eu-west-1' (lower case, as AWS lists them)"


def table_name(value: Any) -> str | None:
    if isinstance(value, str) and _TABLE_NAME.fullmatch(value):
        return None
    return "must be 3-255 letters, digits, '_', '-' or '.'"


def attribute_name(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value.encode()) <= 255:
        return None
    return "must be a non-empty string of at most 255 bytes"


def template_name(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() == value and value.endswith((".html", ".txt")):
        return None
    return "must be a template name such as 'base.html'"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"

    check.choices = choices  # type: ignore[attr-defined] # for kind()
    return check


def retry_mode(value: Any) -> str | None:
    if value == "adaptive":
        return ("must be 'standard': botocore's 'adaptive' mode has one client-side rate limiter per "
                "process, which slows every visitor's calls when one session's key is throttled; it is "
                "no longer offered. Remove the setting")
    return one_of(RETRY_MODES)(value)


def positive_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "must be a whole number of at least 1"


def non_negative_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "must be a whole number of at least 0"


def positive_seconds(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive number of seconds"


def optional_positive_int(value: Any) -> str | None:
    return None if value is None else positive_int(value)


def optional_dotted_path(value: Any) -> str | None:
    if value is None or callable(value) or (isinstance(value, str) and "." in value):
        return None
    return "must be None, a callable or a dotted path such as 'myproject.metrics.record'"


#: What a key prefix must end with, so that one site's prefix is never the start of another's
#: ("site1" would also match "site10"; "site1:" cannot).
KEY_PREFIX_SEPARATORS = (":", "#", "/", "|")


def key_prefix(value: Any) -> str | None:
    if value == "":
        return None
    if (isinstance(value, str) and value.endswith(KEY_PREFIX_SEPARATORS) and value.isprintable()
            and not any(c.isspace() for c in value) and len(value.encode()) <= 256):
        return None
    return ("must be '' or a string of at most 256 bytes without spaces that ends with one of "
            f"{' '.join(map(repr, KEY_PREFIX_SEPARATORS))}, such as 'site1:'")


def optional_regions(value: Any) -> str | None:
    must = ("must be None or a dict of two or more AWS region codes, each to its DynamoDB endpoint URL or "
            "None for AWS's own, such as {'us-east-1': None, 'eu-west-1': None}")
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) < 2:
        return must
    for region, endpoint in value.items():
        if optional_name(region) is not None or region is None:
            return f"{must}: {region!r} is not a region code"
        if optional_url(endpoint) is not None:
            return f"{must}: {region!r}'s endpoint {endpoint!r} is neither None nor an http(s) URL"
    return None


ENCRYPTION_KEY_SIZE = 32
#: The one-line command that makes a good key (the settings check's hint and the docs show it).
ENCRYPTION_KEY_COMMAND = (
    "python -c \"import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())\""
)


def encryption_key(text: str) -> bytes:
    """A configured encryption key's 32 bytes; ValueError saying what is wrong (never the key)."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("is not URL-safe base64") from exc
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != text.rstrip("="):
        raise ValueError("is not URL-safe base64")
    if len(raw) != ENCRYPTION_KEY_SIZE:
        raise ValueError(f"decodes to {len(raw)} bytes, not {ENCRYPTION_KEY_SIZE}")
    return raw


def optional_encryption_keys(value: Any) -> str | None:
    if value is None:
        return None
    must = "must be None or a non-empty list of keys, each 32 random bytes in URL-safe base64"
    if not isinstance(value, (list, tuple)) or not value:
        return must
    seen: set[bytes] = set()
    for number, text in enumerate(value, 1):
        if not isinstance(text, str):
            return f"{must}: key {number} is not a string"
        try:
            raw = encryption_key(text)
        except ValueError as exc:
            return f"{must}: key {number} {exc}"
        if raw in seen:
            return f"{must}: key {number} repeats an earlier one"
        seen.add(raw)
    return None


# What the reference shows as each setting's type, by the check that guards it.
KINDS: dict[Check, str] = {
    optional_url: "str (http(s) URL) or None",
    optional_name: "str (AWS region code) or None",
    table_name: "str (table or index name)",
    attribute_name: "str (attribute name)",
    template_name: "str (template name)",
    boolean: "bool",
    retry_mode: "str",
    positive_int: "int (1 or more)",
    non_negative_int: "int (0 or more)",
    positive_seconds: "float (seconds)",
    optional_positive_int: "int (1 or more) or None",
    optional_dotted_path: "callable, dotted path or None",
    optional_encryption_keys: "list of str (URL-safe base64 keys) or None",
    key_prefix: "str (ending with ':', '#', '/' or '|') or ''",
    optional_regions: "dict of str (AWS region code) to str (endpoint URL) or None, or None",
}


def kind(check: Check) -> str:
    """The type a check accepts, as the reference shows it."""
    choices = getattr(check, "choices", None)
    if choices is not None:
        return "str: " + " | ".join(map(repr, choices))
    return KINDS.get(check, "any")
