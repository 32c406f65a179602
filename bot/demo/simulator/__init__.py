"""The embedded MDE simulator: the demo's default backend and the backbone of the tests.

`Simulator` serves Entra's token endpoints and the MDE API over HTTPS on loopback; `data` holds
the seeded tenants and the demo's indicators (`DEMO_IP`, `DEMO_SHA256`, …).
"""

from bot.demo.simulator.knobs import ALL_READ_ROLES, AppRegistration, Fault, Knobs
from bot.demo.simulator.server import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    REQUIRED_ROLES,
    Simulator,
)

__all__ = [
    "ALL_READ_ROLES",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "REQUIRED_ROLES",
    "AppRegistration",
    "Fault",
    "Knobs",
    "Simulator",
]
