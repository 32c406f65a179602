"""What every settings group shares: the .env file, placeholder detection, and turning a
validation error into one line that names the variable and the fix."""

from __future__ import annotations

import re

from pydantic import ValidationError

ENV_FILE = ".env"
_PLACEHOLDER = re.compile(
    r"your|change.?me|placeholder|example|replace|dummy|todo|xxxx|\.\.\.|<|>", re.IGNORECASE
)


def looks_like_placeholder(value: str) -> bool:
    """True for values copied from `.env.example` and never filled in."""
    return not value.strip() or bool(_PLACEHOLDER.search(value))


_HINTS = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "copy the Signing Secret from Basic Information",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-…) with connections:write, or unset it",
}


def one_line(exc: ValidationError, prefix: str) -> str:
    """The first error of a settings model as 'VARIABLE: what is wrong — how to fix it'."""
    error = exc.errors()[0]
    loc = error["loc"][0] if error["loc"] else "?"
    name = "PORT" if loc == "PORT" else prefix + str(loc).upper()
    problem = "is missing" if error["type"] == "missing" else str(error["msg"])
    problem = problem.removeprefix("Value error, ")
    hint = _HINTS.get(name, "see .env.example")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{name} {problem}{more} — {hint}"
