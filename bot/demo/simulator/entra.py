"""The simulator's Entra side: the OIDC discovery document msal reads, and the client-credentials
token endpoint, refusing as Entra does (AADSTS codes in the body, as msal surfaces them)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping, Sequence

from aiohttp import web

from bot.demo.simulator.knobs import AppRegistration
from bot.demo.simulator.tokens import SCOPE_AUDIENCES, TokenMint


def aad_error(status: int, error: str, code: int, description: str) -> web.Response:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {uuid.uuid4()}",
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return web.json_response(body, status=status)


def discovery(base_url: str, tenant: str, tenants: Collection[str]) -> web.Response:
    """`/{tenant}/v2.0/.well-known/openid-configuration`: an https token endpoint under the
    tenant, and an `issuer` matching the authority (msal 1.39 checks both)."""
    if tenant not in tenants:
        return aad_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
        )
    base = f"{base_url}/{tenant}"
    return web.json_response(
        {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }
    )


def token(
    tenant: str,
    form: Mapping[str, str],
    tenants: Collection[str],
    apps: Sequence[AppRegistration],
    mint: TokenMint,
) -> web.Response:
    """The client-credentials grant: a JWT whose `roles` are the app's consented roles."""
    client_id = form.get("client_id", "")
    scope = form.get("scope", "")
    if tenant not in tenants:
        return aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    app = next((a for a in apps if a.client_id == client_id and a.tenant_id == tenant), None)
    if app is None:
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
        )
    if form.get("grant_type") != "client_credentials":
        return aad_error(400, "unsupported_grant_type", 70003, "Unsupported grant type.")
    if form.get("client_secret", "") != app.secret:
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'.",
        )
    if app.secret_expired:
        return aad_error(
            401,
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{client_id}' are expired.",
        )
    audience = next((aud for s, aud in SCOPE_AUDIENCES.items() if s in scope.split()), None)
    if audience is None:
        return aad_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {scope} was not found in the tenant.",
        )
    access = mint.mint(tenant_id=tenant, client_id=client_id, audience=audience, roles=app.roles)
    return web.json_response(
        {
            "token_type": "Bearer",
            "expires_in": mint.lifetime,
            "ext_expires_in": mint.lifetime,
            "access_token": access,
        }
    )
