"""A cache backend whose every call fails, as a cache server that went away."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache


class BrokenCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server unreachable")

    set = add = delete = get


class FlakyCache(LocMemCache):
    """A working LocMemCache until ``FlakyCache.down`` is set: then every call fails, as a
    cache server that became unreachable; it comes back, with what it held, when unset."""

    down = False

    def __getattribute__(self, name: str) -> Any:
        if name in _CACHE_CALLS and type(self).down:
            raise ConnectionError("cache server unreachable")
        return super().__getattribute__(name)


_CACHE_CALLS = frozenset({"get", "get_many", "set", "set_many", "add", "delete", "delete_many",
                          "aget", "aget_many", "aset", "aset_many", "aadd", "adelete", "adelete_many"})
