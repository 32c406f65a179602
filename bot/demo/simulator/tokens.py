"""Entra-style access tokens for the simulator: JWTs with `aud`, `tid`, `appid` and `roles`.

Signed with HMAC-SHA256 under a key that lives only in the simulator process, so the simulator
can tell its own tokens from forged or expired ones. Clients never verify the signature (the bot
only decodes the payload to read the roles, as Microsoft's docs suggest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

MDE_AUDIENCE = "https://api.securitycenter.microsoft.com"
# Scopes that yield an MDE token, mapped to the audience each one carries. Anything else is a
# token for another resource, which MDE refuses with 401.
SCOPE_AUDIENCES = {
    "https://api.securitycenter.microsoft.com/.default": MDE_AUDIENCE,
    "https://securitycenter.onmicrosoft.com/windowsatpservice/.default": MDE_AUDIENCE,
    "https://api-gcc.securitycenter.microsoft.us/.default": MDE_AUDIENCE,
    "https://securitycenter.onmicrosoft.us/windowsatpservice/.default": MDE_AUDIENCE,
    "https://api.security.microsoft.com/.default": "https://api.security.microsoft.com",
    "https://graph.microsoft.com/.default": "https://graph.microsoft.com",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenMint:
    def __init__(self, lifetime: int = 3599) -> None:
        self._key = secrets.token_bytes(32)
        self.lifetime = lifetime
        self._serial = 0  # each token's `uti`, in issue order
        self._revoked_through = 0  # tokens up to this serial are refused

    def revoke_all(self) -> None:
        self._revoked_through = self._serial

    def mint(
        self,
        *,
        tenant_id: str,
        client_id: str,
        audience: str,
        roles: Sequence[str],
        lifetime: int | None = None,
    ) -> str:
        """A signed token; `lifetime` (seconds, default the mint's) may be negative: expired."""
        now = int(time.time())
        self._serial += 1
        payload: dict[str, Any] = {
            "uti": str(self._serial),
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "idp": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + (self.lifetime if lifetime is None else lifetime),
            "appid": client_id,
            "tid": tenant_id,
            "ver": "1.0",
        }
        if roles:  # Entra leaves the claim out entirely when nothing is granted.
            payload["roles"] = list(roles)
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64(json.dumps(payload).encode())
        signature = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this mint issued, not revoked and not expired, else None."""
        try:
            header, body, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return None
            claims: dict[str, Any] = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(claims, dict) or int(claims.get("uti", 0)) <= self._revoked_through:
            return None
        return claims if claims.get("exp", 0) > time.time() else None
