"""A bare HTTPS client for a running simulator: raw statuses, headers and bodies, no retries and
no translation. For the simulator's own tests and for benchmarks that drive it directly; the bot
talks to it through `bot.mde.client` like to any MDE.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.demo.simulator.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator

MDE_SCOPE = "https://api.securitycenter.microsoft.com/.default"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def code(self) -> str:
        """MDE's error code (`error.code`), or "" for a success."""
        body = self.json()
        error = body.get("error") if isinstance(body, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""


class Probe:
    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self._session = session
        self._ssl = ssl.create_default_context(cafile=str(sim.ca_path))

    @classmethod
    @asynccontextmanager
    async def open(cls, sim: Simulator) -> AsyncIterator[Probe]:
        async with aiohttp.ClientSession() as session:
            yield cls(sim, session)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        async with self._session.request(
            method, url, headers=headers, ssl=self._ssl, **kwargs
        ) as response:
            return Reply(response.status, dict(response.headers), await response.text())

    async def download(self, url: str) -> tuple[int, bytes]:
        """GET `url` without a bearer token (a package link carries its own): status, body."""
        async with self._session.get(url, ssl=self._ssl) as response:
            return response.status, await response.read()

    async def token(
        self,
        tenant_id: str,
        *,
        client_id: str = DEMO_CLIENT_ID,
        secret: str = DEMO_CLIENT_SECRET,
        scope: str = MDE_SCOPE,
    ) -> Reply:
        """POST the client-credentials form to the tenant's token endpoint."""
        form = {
            "client_id": client_id,
            "client_secret": secret,
            "grant_type": "client_credentials",
            "scope": scope,
        }
        url = f"{self.sim.authority(tenant_id)}/oauth2/v2.0/token"
        return await self.request("POST", url, data=form)

    async def get(
        self, path: str, *, token: str | None, params: Mapping[str, str] | None = None
    ) -> Reply:
        """GET `path` (under `/api`, e.g. "/machines") with `token` as the bearer (None: none)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.request(
            "GET", f"{self.sim.api_url}/api{path}", headers=headers, params=params
        )

    async def hunt(self, body: Any, *, token: str | None) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.request(
            "POST", f"{self.sim.api_url}/api/advancedqueries/run", headers=headers, json=body
        )
