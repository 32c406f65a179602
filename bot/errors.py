"""The bot's error tree. Foreign errors (aiohttp, msal, pydantic) are translated into it once,
at the boundary where they occur; everything above that boundary speaks only these types.

    BotError                      base; `message` is safe to show a user, `hint` says what to do
    ├── ConfigError               settings that cannot work; stops start-up with one line
    ├── InputError                user input we cannot act on (bad indicator, unknown command)
    │   └── UnknownTenant         --tenant named no connector
    ├── ReplyError                an answer could not be delivered to Slack
    └── MdeError                  a connector's call failed; carries the connector alias
        ├── MdeAuthError          no token: bad tenant, client id or secret (AADSTS code kept)
        ├── MdeForbidden          token fine, permission or licence missing (roles kept)
        ├── MdeNotFound           the entity does not exist
        │   └── MdePackageNotReady  an investigation package's link, asked for before
        │                           its collection succeeded
        ├── MdeBadRequest         MDE rejected the request (malformed identifier, OData, a
        │                         response action's body); MDE's code and its words kept
        │                         (`detail`, shortened: never a body)
        ├── MdeActionPending      400 "Action is already in progress": one of the same kind
        │                         runs on the device (nothing new was created)
        ├── MdeNotSupported       400: the device's OS or sensor cannot run the action
        ├── MdeUnconfirmed        a write may or may not have taken effect (timeout, dropped
        │                         connection, 5xx, an unreadable answer): look before sending
        │                         it again; never retried by the client
        ├── MdeRateLimited        429; `retry_after` seconds
        ├── MdeBusy               our own queue for the connector is full, or the answer's
        │                         deadline passed while it waited (no call was sent)
        └── MdeUnavailable        5xx, timeouts, connection errors, after bounded retries

No error ever carries a token, a secret or a raw response body.
"""

from __future__ import annotations

import uuid


class BotError(Exception):
    """Base of every error the bot raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(BotError):
    """A setting is missing, malformed or a placeholder."""


class InputError(BotError):
    """User input the bot cannot act on."""


class UnknownTenant(InputError):
    """`--tenant` named no configured connector."""


class Expired(InputError):
    """What a button or form names is no longer kept (a card older than its reports)."""


class ReplyError(BotError):
    """The answer could not be delivered to Slack."""


class MdeError(BotError):
    """A call to one MDE connector failed."""

    def __init__(self, connector: str, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.connector = connector


class MdeAuthError(MdeError):
    """The token request failed (bad tenant, app or secret)."""

    def __init__(self, connector: str, message: str, *, code: str = "", hint: str = "") -> None:
        super().__init__(connector, message, hint=hint)
        self.code = code  # e.g. "AADSTS7000215"


class MdeForbidden(MdeError):
    """403: the app lacks a role, or the tenant lacks a licence or feature."""

    def __init__(
        self,
        connector: str,
        message: str,
        *,
        missing_roles: tuple[str, ...] = (),
        code: str = "Forbidden",
        hint: str = "",
    ) -> None:
        super().__init__(connector, message, hint=hint)
        self.missing_roles = missing_roles
        self.code = code


class MdeNotFound(MdeError):
    """404: the device, alert or file is unknown to MDE."""


class MdePackageNotReady(MdeNotFound):
    """An investigation package's download link was asked for before its collection had
    succeeded: MDE answers 404 until then."""


class MdeBadRequest(MdeError):
    """400: MDE rejected the identifier, the query or a response action's body.

    `detail` is MDE's own message, shortened: text from MDE, not ours (escape it to show it).
    """

    def __init__(
        self, connector: str, message: str, *, code: str = "", detail: str = "", hint: str = ""
    ) -> None:
        super().__init__(connector, message, hint=hint)
        self.code = code
        self.detail = detail


class MdeActionPending(MdeError):
    """400 "Action is already in progress": an action of the same kind is Pending or InProgress
    on the device, so MDE created nothing. `detail` is what MDE said."""

    def __init__(
        self, connector: str, message: str, *, code: str = "", detail: str = "", hint: str = ""
    ) -> None:
        super().__init__(connector, message, hint=hint)
        self.code = code
        self.detail = detail


class MdeNotSupported(MdeError):
    """400 OsPlatformNotSupported or ClientVersionNotSupported: the device cannot run the
    action (its OS, its version or its sensor). `detail` is what MDE said."""

    def __init__(
        self, connector: str, message: str, *, code: str = "", detail: str = "", hint: str = ""
    ) -> None:
        super().__init__(connector, message, hint=hint)
        self.code = code
        self.detail = detail


class MdeUnconfirmed(MdeError):
    """A write (POST, PATCH, DELETE) may or may not have been carried out: it timed out, the
    connection dropped after it was sent, or MDE answered 5xx (`status`). Or MDE accepted it
    (`accepted`: it was carried out) with an answer that could not be read. Never retried:
    sending it again could act twice. The caller looks first (`bot.mde.actions.find_request`
    and the other confirmation reads)."""

    def __init__(
        self,
        connector: str,
        message: str,
        *,
        status: int | None = None,
        accepted: bool = False,
        hint: str = "",
    ) -> None:
        super().__init__(connector, message, hint=hint)
        self.status = status
        self.accepted = accepted


class MdeRateLimited(MdeError):
    """429 after our retries, or our own budget would be exceeded for too long."""

    def __init__(self, connector: str, retry_after: float, *, hint: str = "") -> None:
        super().__init__(
            connector, f"MDE is throttling requests; retry in {retry_after:.0f} s", hint=hint
        )
        self.retry_after = retry_after


class MdeBusy(MdeError):
    """The bot's own queue for this connector refused the call: full, or too late to answer."""


class MdeUnavailable(MdeError):
    """5xx, timeouts or connection errors that outlasted the retries."""


UNEXPECTED_HINT = "Try again; if it keeps happening, give the reference to whoever runs the bot."


def new_reference() -> str:
    """A short id for an unexpected error: shown to the user, logged with the traceback."""
    return uuid.uuid4().hex[:8]
