"""Tokens for one MDE connector, from msal's ConfidentialClientApplication.

msal is synchronous and its constructor already talks to the network (OIDC discovery), so the
application is built once in a worker thread and reused; every acquisition runs in a thread too
and relies on msal's own token cache (a second call within the hour makes no request).

Failures are translated here, once, into `MdeAuthError` (with the AADSTS code and plain words)
or `MdeUnavailable`. Neither ever carries the secret or the token.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msal
import requests
from msal.exceptions import MsalServiceError

from bot.errors import MdeAuthError, MdeUnavailable
from bot.settings import ConnectorSettings

AUTH_TIMEOUT = 15.0  # seconds, per HTTP call msal makes
REFRESH_MARGIN = 300.0  # seconds: msal treats a cached token with less left as expired

# AADSTS codes an operator meets when setting up an app, in plain words.
AADSTS_REASONS: dict[int, tuple[str, str]] = {
    7000215: (
        "the client secret is wrong",
        "copy the secret's Value (not its ID) from the app's Certificates & secrets page",
    ),
    7000222: (
        "the client secret has expired",
        "create a new client secret for the app and update the setting",
    ),
    700016: (
        "no application with this client id exists in the tenant",
        "check the client id and the tenant id; the app must be registered in this tenant",
    ),
    90002: (
        "the tenant does not exist",
        "check the tenant id (Entra admin center → Overview → Tenant ID) and the cloud",
    ),
    900023: ("the tenant id is malformed", "use the directory (tenant) id, a GUID"),
    500011: (
        "the token scope names a resource this tenant does not have",
        "use the MDE scope for your cloud (see .env.example) and make sure MDE is provisioned",
    ),
    700024: ("the client assertion is not valid", "check the app's credentials"),
    53003: (
        "a Conditional Access policy blocked the sign-in",
        "exclude the app from the policy, or allow the bot's network location",
    ),
}


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What `mde-bot check` reads from an access token (never the token itself)."""

    audience: str
    tenant_id: str
    app_id: str
    roles: frozenset[str]


def decode_claims(token: str) -> TokenClaims:
    """The JWT payload, without verifying the signature: the token just came from Entra over
    TLS and is only read for display and permission checks."""
    try:
        data: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return TokenClaims("", "", "", frozenset())
    roles = data.get("roles") or []
    return TokenClaims(
        audience=str(data.get("aud", "")),
        tenant_id=str(data.get("tid", "")),
        app_id=str(data.get("appid") or data.get("azp") or ""),
        roles=frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset(),
    )


class _PinnedSession(requests.Session):
    """A requests session whose CA bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    msal passes no per-request `verify`, so requests would otherwise replace the bundle we set
    with the one the environment names (docs/mde-api.md §5).
    """

    def __init__(self, ca_bundle: Path | None, timeout: float) -> None:
        super().__init__()
        self._pinned = str(ca_bundle) if ca_bundle else None
        self._timeout = timeout

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._pinned:
            settings["verify"] = self._pinned
        return settings

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class TokenProvider:
    """Access tokens for one connector."""

    def __init__(self, connector: ConnectorSettings, *, timeout: float = AUTH_TIMEOUT) -> None:
        self._connector = connector
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._http = _PinnedSession(connector.ca_bundle, timeout)
        self._lock = asyncio.Lock()
        self._last: tuple[str, float] | None = None  # (token, reuse it until this instant)
        self._issued: str | None = None  # the token msal gave last
        self._refresh = False  # the next acquisition must skip msal's cache

    @property
    def alias(self) -> str:
        return self._connector.alias

    def close(self) -> None:
        """Release msal's HTTP connections (closing a requests session does no I/O)."""
        self._http.close()

    def _build(self) -> msal.ConfidentialClientApplication:
        c = self._connector
        return msal.ConfidentialClientApplication(
            c.client_id,
            client_credential=c.client_secret.get_secret_value(),
            authority=c.resolved_authority,
            # Never call login.microsoftonline.com to "discover" a custom authority: the
            # configured authority is the truth (and tests and the demo are offline).
            instance_discovery=False,
            http_client=self._http,
        )

    def invalidate(self, token: str) -> None:
        """MDE refused `token` (revoked, or issued before the app's roles changed): the next
        call gets a new one from Entra, not from msal's cache. Refusals of a token already
        replaced change nothing, so a burst of 401s makes one new sign-in."""
        if token != self._issued:
            return
        self._last = None
        self._refresh = True

    def _acquire(self, refresh: bool) -> dict[str, Any]:
        if self._app is None:
            self._app = self._build()
        if refresh:
            self._app.remove_tokens_for_client()
        result: dict[str, Any] = self._app.acquire_token_for_client(
            scopes=[self._connector.resolved_scope]
        )
        return result

    async def token(self) -> str:
        """A valid access token: msal's cache first, Entra on a miss.

        The token msal last gave is reused without a thread hop while it has more than
        REFRESH_MARGIN left (msal's own rule for serving from its cache); after that, msal
        decides: its cache, or Entra."""
        if self._last is not None and time.monotonic() < self._last[1]:
            return self._last[0]
        # One acquisition at a time: a cold start with 50 concurrent lookups makes one request.
        async with self._lock:
            if self._last is not None and time.monotonic() < self._last[1]:
                return self._last[0]
            try:
                result = await asyncio.to_thread(self._acquire, self._refresh)
            except ValueError as exc:
                raise self._discovery_error(exc) from None
            except requests.RequestException as exc:
                raise self._network_error(exc) from None
            except MsalServiceError:  # msal's word for a 5xx from Entra
                raise MdeUnavailable(
                    self.alias,
                    "the sign-in service is temporarily unavailable",
                    hint="this usually passes; try again in a minute",
                ) from None
        token = result.get("access_token")
        if isinstance(token, str) and token:
            self._issued, self._refresh = token, False
            expires_in = result.get("expires_in")
            if isinstance(expires_in, int | float) and expires_in > REFRESH_MARGIN:
                self._last = (token, time.monotonic() + expires_in - REFRESH_MARGIN)
            return token
        raise self._token_error(result)

    async def claims(self) -> TokenClaims:
        return decode_claims(await self.token())

    # ------------------------------------------------------------------ translation

    def _token_error(self, result: dict[str, Any]) -> MdeAuthError | MdeUnavailable:
        alias = self._connector.alias
        error = str(result.get("error", "unknown_error"))
        description = str(result.get("error_description", ""))
        codes = result.get("error_codes") or []
        match = re.search(r"AADSTS(\d+)", description)
        code = int(codes[0]) if codes else int(match.group(1)) if match else 0
        if error == "temporarily_unavailable" or code in {90033, 50001}:
            return MdeUnavailable(
                alias,
                "the sign-in service is temporarily unavailable",
                hint="this usually passes; try again in a minute",
            )
        reason, hint = AADSTS_REASONS.get(
            code, (f"sign-in failed ({error})", "check the tenant id, client id and secret")
        )
        label = f"AADSTS{code}" if code else error
        return MdeAuthError(alias, f"{label}: {reason}", code=label, hint=hint)

    def _discovery_error(self, exc: ValueError) -> MdeAuthError:
        # msal raises ValueError when the authority's OIDC discovery answers 4xx (unknown
        # tenant) or when the authority URL itself is malformed.
        alias = self._connector.alias
        if "authority" in str(exc).lower() and "unable" in str(exc).lower():
            reason, hint = AADSTS_REASONS[90002]
            return MdeAuthError(alias, f"AADSTS90002: {reason}", code="AADSTS90002", hint=hint)
        return MdeAuthError(
            alias,
            "the sign-in authority is not valid",
            hint="check the authority URL and the tenant id",
        )

    def _network_error(self, exc: requests.RequestException) -> MdeUnavailable:
        alias = self._connector.alias
        if isinstance(exc, requests.exceptions.SSLError):
            return MdeUnavailable(
                alias,
                "the sign-in service's TLS certificate is not trusted",
                hint="check the connector's CA bundle (or REQUESTS_CA_BUNDLE behind a proxy)",
            )
        if isinstance(exc, requests.Timeout):
            return MdeUnavailable(alias, "the sign-in service did not answer in time")
        return MdeUnavailable(
            alias, "cannot reach the sign-in service", hint="check network access and the cloud"
        )
