"""The seam between the product and the demo kit: the embedded simulator as the MDE backend.

`bot.runtime.open_backend` imports this module only when no MDE connector is configured; it
starts a simulator (unless one is given) and returns the connector settings an operator would
write for its tenants.
"""

from __future__ import annotations

import contextlib

from bot.demo.simulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator, data
from bot.settings import ConnectorSettings

__all__ = ["Simulator", "connector_config", "simulator_connectors", "started"]


def connector_config(simulator: Simulator, tenant: data.Tenant) -> dict[str, str]:
    """The settings an operator would write for one simulated tenant (plain, JSON-ready)."""
    return {
        "alias": tenant.name,
        "tenant_id": tenant.tenant_id,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "api_url": simulator.api_url,
        "authority": simulator.authority(tenant.tenant_id),
        "ca_bundle": str(simulator.ca_path),
    }


def simulator_connectors(simulator: Simulator) -> list[ConnectorSettings]:
    """One connector per licensed simulated tenant: the demo's backend."""
    return [
        ConnectorSettings.model_validate(connector_config(simulator, tenant))
        for tenant in simulator.tenants.values()
        if tenant.licensed
    ]


async def started(stack: contextlib.AsyncExitStack, simulator: Simulator | None) -> Simulator:
    """`simulator` if given (already started, left running), else one of ours, stopped with
    `stack`."""
    if simulator is not None:
        return simulator
    return await stack.enter_async_context(Simulator())
