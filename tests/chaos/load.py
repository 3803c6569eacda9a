"""The chaos run's load: action plans written and submitted over HTTP by a few concurrent
clients, each step retried until it is known to have happened exactly once.

A client whose request dies with the server (SIGKILL, a restarted database) cannot tell whether
the change was committed. Sending it again blindly would create a second plan or commitment, and
the run would blame the platform for the client's duplicate; giving up would lose it. So after an
answer that says nothing (no answer, a 5xx) the client looks at the plans database itself and
repeats the step only if it did not happen. A 4xx on a first try is a failure of the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from tests.conftest import token

STAFF = token("staff", sub="chaos-staff")


@dataclass
class LoadFigures:
    submitted: int = 0  # plans through all four steps
    requests: int = 0
    unanswered: int = 0  # requests that died with the server or the database (no answer, 5xx)
    repeated: int = 0  # steps sent again after the database showed they had not happened
    plan_ids: dict[int, UUID] = field(default_factory=dict)


class PlanLoad:
    """``count`` plans, each: create (with a point of contact), co-creation, one commitment,
    submission. ``gate(i)`` is awaited before plan ``i`` starts (the chaos run holds the load back
    so that it cannot finish before the faults it must run through)."""

    def __init__(
        self,
        base_url: str,
        dsn: str,
        member_id: str,
        run_id: str,
        count: int,
        *,
        workers: int = 3,
        gate: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.base_url = base_url
        self.dsn = dsn
        self.member_id = member_id
        self.run_id = run_id
        self.count = count
        self.workers = workers
        self.gate = gate
        self.figures = LoadFigures()
        self._next = 0

    def title(self, i: int) -> str:
        return f"Chaos {self.run_id} plan {i:05d}"

    def contact_email(self, i: int) -> str:
        return f"poc{i}.{self.run_id}@example.org"

    async def run(self) -> LoadFigures:
        async with httpx.AsyncClient(base_url=self.base_url, headers=STAFF, timeout=30) as http:
            await asyncio.gather(*(self._worker(http) for _ in range(self.workers)))
        return self.figures

    async def _worker(self, http: httpx.AsyncClient) -> None:
        while self._next < self.count:
            i = self._next
            self._next += 1
            if self.gate is not None:
                await self.gate(i)
            await self._plan(http, i)
            self.figures.submitted += 1

    async def _plan(self, http: httpx.AsyncClient, i: int) -> None:
        title = self.title(i)
        created = await self._step(
            http,
            "POST",
            "/v1/plans",
            {
                "member_id": self.member_id,
                "title": title,
                "start_date": "2026-09-01",
                "end_date": "2028-08-31",
                "point_of_contact": {
                    "name": f"Contact {i}",
                    "email": self.contact_email(i),
                    "language": "en",
                },
            },
            done=lambda: self._plan_id(title),
        )
        plan_id = UUID(str(created["id"]))
        self.figures.plan_ids[i] = plan_id
        await self._step(
            http, "POST", f"/v1/plans/{plan_id}/transitions", {"to": "co_creation"},
            done=lambda: self._state_in(plan_id, ("co_creation", "submitted")),
        )  # fmt: skip
        await self._step(
            http, "POST", f"/v1/plans/{plan_id}/commitments", {"title": f"Open contracting {i}"},
            done=lambda: self._has_commitment(plan_id),
        )  # fmt: skip
        await self._step(
            http, "POST", f"/v1/plans/{plan_id}/transitions", {"to": "submitted"},
            done=lambda: self._state_in(plan_id, ("submitted",)),
        )  # fmt: skip

    async def _step(
        self,
        http: httpx.AsyncClient,
        method: str,
        url: str,
        body: dict[str, Any],
        *,
        done: Callable[[], Awaitable[Any]],
    ) -> dict[str, Any]:
        """Send until answered 2xx, or until the database shows the step happened."""
        first = True
        while True:
            if not first:
                found = await self._ask_db(done)
                if found:
                    return {"id": str(found)} if isinstance(found, UUID) else {}
                self.figures.repeated += 1
            first = False
            self.figures.requests += 1
            try:
                r = await http.request(method, url, json=body)
            except httpx.TransportError:
                self.figures.unanswered += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code in (200, 201):
                answer: dict[str, Any] = r.json()
                return answer
            if r.status_code >= 500:
                self.figures.unanswered += 1
                await asyncio.sleep(0.2)
                continue
            # A 4xx after a retry may be "already done" (a transition repeated): the database says.
            found = await self._ask_db(done)
            if found:
                return {"id": str(found)} if isinstance(found, UUID) else {}
            raise AssertionError(f"{method} {url} answered {r.status_code}: {r.text}")

    async def _ask_db(self, question: Callable[[], Awaitable[Any]]) -> Any:
        """The answer of the plans database, waiting out its restarts."""
        for _ in range(600):
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return await question()
            await asyncio.sleep(0.2)
        raise AssertionError("the plans database did not come back within two minutes")

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def _plan_id(self, title: str) -> UUID | None:
        value = await self._fetchval("SELECT id FROM plans WHERE title = $1", title)
        return value if isinstance(value, UUID) else None

    async def _state_in(self, plan_id: UUID, states: tuple[str, ...]) -> bool:
        return await self._fetchval("SELECT state FROM plans WHERE id = $1", plan_id) in states

    async def _has_commitment(self, plan_id: UUID) -> bool:
        return bool(await self._fetchval("SELECT count(*) FROM commitments WHERE plan_id = $1", plan_id))
