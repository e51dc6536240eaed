"""The documentation's code blocks marked ``<!-- runnable -->`` run, as written, against DynamoDB
Local (the README's settings block is run by ``make package``, in a new project)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"<!-- runnable -->\n```python\n(.*?)```", re.S)


def runnable() -> list[Any]:
    return [pytest.param(code, id=f"{path.stem}-{n}") for path in sorted(DOCS.glob("*.md"))
            for n, code in enumerate(BLOCK.findall(path.read_text()), 1)]


class Recorder:
    """Stands in for the metrics client an example sends to (``statsd``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.sent.append((name, args))


def test_there_are_runnable_examples() -> None:
    assert len(runnable()) >= 2


@pytest.mark.parametrize("code", runnable())
def test_a_runnable_example_runs_as_written(code: str) -> None:
    from pynamo_sessions.backends.dynamodb import SessionStore
    from pynamo_sessions.store.usage import dynamodb_call

    namespace: dict[str, Any] = {"statsd": Recorder()}
    exec(compile(code, "<docs example>", "exec"), namespace)
    try:
        store = SessionStore()
        store["example"] = 1
        store.save()
        assert SessionStore(store.session_key).load() == {"example": 1}
    finally:
        for value in namespace.values():
            if callable(value):
                dynamodb_call.disconnect(value)
    if "dynamodb_call" in code:
        assert [name for name, _ in namespace["statsd"].sent][:2] == ["timing", "incr"]
