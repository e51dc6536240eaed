from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from importlib import import_module
from typing import Any

import botocore.session
import pytest

from pynamo_sessions.operations import provision
from pynamo_sessions.store import aio
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import Via, count_calls


@pytest.fixture(scope="session")
def raw(dynamodb_local: str) -> Any:
    """A plain botocore client, to look at items exactly as DynamoDB holds them."""
    return botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=dynamodb_local
    )


@pytest.fixture
def raw_item(raw: Any, settings: Any) -> Callable[[str], dict[str, Any] | None]:
    def get(key: str) -> dict[str, Any] | None:
        answer = raw.get_item(
            TableName=settings.DYNAMODB_SESSIONS_TABLE,
            Key={getattr(settings, "DYNAMODB_SESSIONS_ATTR_ID", "id"): {"S": key}},
            ConsistentRead=True,
        )
        return answer.get("Item")  # type: ignore[no-any-return]

    return get


@pytest.fixture
def own_table(settings: Any) -> Iterator[str]:
    """A table of this test's own, created with create_table() and deleted afterwards."""
    settings.DYNAMODB_SESSIONS_TABLE = f"t-{uuid.uuid4().hex[:12]}"
    yield settings.DYNAMODB_SESSIONS_TABLE
    provision.delete_table()


@pytest.fixture
def tracked(settings: Any, own_table: str) -> str:
    """A table of this test's own with users (and their clients) tracked: the sessions pages'.
    Modules that track less define their own."""
    from pynamo_sessions import create_table

    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_TRACK_CLIENT = True
    create_table()
    return own_table


@pytest.fixture
def alice(db: Any) -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("alice", password="alice-password-1")


PROXY_TIMEOUT = 1.5
PROXY_SLOW_DELAY = 4.0


@pytest.fixture
def proxy(dynamodb_local: str, settings: Any) -> Iterator[FaultProxy]:
    """The backend talks to DynamoDB Local through a fault-injecting, recording proxy."""
    fault_proxy = FaultProxy(dynamodb_local)
    settings.DYNAMODB_LOCAL_ENDPOINT = fault_proxy.start()
    # Short enough that a hang or a slow answer (SLOW waits PROXY_SLOW_DELAY) times out quickly,
    # long enough that a busy 2-core runner answers every passing call well within it.
    settings.DYNAMODB_SESSIONS_CONNECT_TIMEOUT = PROXY_TIMEOUT
    settings.DYNAMODB_SESSIONS_READ_TIMEOUT = PROXY_TIMEOUT
    settings.DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS = 1
    fault_proxy.delay = PROXY_SLOW_DELAY
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture(params=["pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb"])
def SessionStore(request: pytest.FixtureRequest, settings: Any) -> type[Any]:
    """The SessionStore class of each engine in turn, with SESSION_ENGINE set to match."""
    settings.SESSION_ENGINE = request.param
    return import_module(request.param).SessionStore  # type: ignore[no-any-return]


@pytest.fixture(params=["sync", pytest.param("native", marks=pytest.mark.needs_aiobotocore)])
async def via(request: pytest.FixtureRequest) -> AsyncIterator[Via]:
    """Call a store method through one transport: ``await via(store, "save")``."""
    native = request.param == "native"

    async def call(store: Any, name: str, *args: Any) -> Any:
        if native:
            await aio.connect()  # for the settings of this moment (a test may have changed them)
            assert aio.client() is not None
            with count_calls() as sync_calls:
                result = await getattr(store, "a" + name)(*args)
            assert sync_calls == {}, "the native path sent through the sync PynamoDB model"
            return result
        return getattr(store, name)(*args)

    yield call
