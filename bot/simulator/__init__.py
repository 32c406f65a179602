"""The embedded MDE simulator: the demo's default backend and the backbone of the tests."""

from bot.simulator.server import (
    ALL_READ_ROLES,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    AppRegistration,
    Fault,
    Simulator,
)

__all__ = [
    "ALL_READ_ROLES",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "AppRegistration",
    "Fault",
    "Simulator",
]
