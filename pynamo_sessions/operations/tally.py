"""Counts kept in a frozen dataclass and added to from several worker threads."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Tally(Generic[T]):
    """``value`` is always a consistent snapshot; ``add`` and ``update`` replace it under a lock."""

    def __init__(self, start: T) -> None:
        self._lock = threading.Lock()
        self.value = start

    def add(self, **counts: int) -> None:
        with self._lock:
            self.value = replace(self.value, **{k: getattr(self.value, k) + v for k, v in counts.items()})  # type: ignore[type-var]

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.value = replace(self.value, **fields)  # type: ignore[type-var]
