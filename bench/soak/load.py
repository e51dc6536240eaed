"""The visitors of the soak, run in a process of their own.

In the driver's process they would compete for one GIL with the fault proxy's threads and
slow every answer down; here they only compete for the CPU, as real clients would.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

PAGES = ("increment", "read", "plain")


@dataclass
class Sample:
    phase: str
    page: str
    sent: float  # time.time() when it was sent
    done: float  # time.time() when it was answered
    latency: float
    status: int
    retry_after: bool
    client: int = -1  # which visitor sent it


@dataclass
class Client:
    """One visitor: its own connection, its own session, and what it was told."""

    port: int
    cookie: str | None = None
    attempted: int = 0  # increments sent
    acknowledged: int = 0  # the highest count a 200 answered
    keys_seen: set[str] = field(default_factory=set)
    resets: int = 0  # reads that showed fewer increments than were acknowledged

    def request(self, page: str) -> tuple[int, bool, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Cookie": f"sessionid={self.cookie}"} if self.cookie else {}
            connection.request("GET", f"/{page}/", headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            morsel = SimpleCookie(header).get("sessionid")
            if morsel is not None and morsel.value:
                self.cookie = morsel.value
                self.keys_seen.add(morsel.value)
        data = json.loads(body) if response.status == 200 and page != "plain" else None
        return response.status, response.getheader("Retry-After") is not None, data



def visit(clients: int, port: int, think: float, until: float) -> tuple[list[Sample], list[Client]]:
    """Each client loops over the pages until the wall clock reaches ``until``."""
    visitors = [Client(port) for _ in range(clients)]
    for client in visitors:  # every visitor starts with a session holding count = 1
        status, _, data = client.request("increment")
        assert status == 200, status
        client.attempted, client.acknowledged = 1, data["count"]
    samples: list[Sample] = []
    lock = threading.Lock()

    def loop(number: int, client: Client) -> None:
        turn = 0
        while time.time() < until:
            page = PAGES[turn % len(PAGES)]
            turn += 1
            sent, started = time.time(), time.monotonic()
            if page == "increment":
                client.attempted += 1
            status, retry_after, data = client.request(page)
            latency = time.monotonic() - started
            if page == "increment" and status == 200:
                client.acknowledged = max(client.acknowledged, data["count"])
            if page == "read" and status == 200 and not data["degraded"] and (data["count"] or 0) < client.acknowledged:
                client.resets += 1
            with lock:
                samples.append(Sample("", page, sent, time.time(), latency, status, retry_after, number))
            time.sleep(think)

    threads = [threading.Thread(target=loop, args=(n, c)) for n, c in enumerate(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, visitors
