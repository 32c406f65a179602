"""The embedded MDE simulator: the demo's default backend and the backbone of the tests.

`Simulator` serves Entra's token endpoints and the MDE API over HTTPS on loopback, the response
actions included; `data` holds the seeded tenants and the demo's indicators (`DEMO_IP`,
`DEMO_SHA256`, …).
"""

from bot.demo.simulator.knobs import (
    ALL_ACTION_ROLES,
    ALL_READ_ROLES,
    DEMO_ROLES,
    AppRegistration,
    Fault,
    Knobs,
    ManualClock,
)
from bot.demo.simulator.lifecycle import ActionRecord
from bot.demo.simulator.server import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    REQUIRED_ROLES,
    DeviceState,
    Simulator,
)

__all__ = [
    "ALL_ACTION_ROLES",
    "ALL_READ_ROLES",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_ROLES",
    "REQUIRED_ROLES",
    "ActionRecord",
    "AppRegistration",
    "DeviceState",
    "Fault",
    "Knobs",
    "ManualClock",
    "Simulator",
]
