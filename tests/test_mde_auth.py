"""Real msal against the simulator's Entra endpoints, over HTTPS with the test CA."""

from __future__ import annotations

import pytest

from bot.demo.backend import simulator_connectors
from bot.demo.simulator import DEMO_ROLES, Simulator
from bot.errors import MdeAuthError
from bot.mde.auth import TokenProvider, decode_claims
from bot.settings import ConnectorSettings


def connector(sim: Simulator, **changes: object) -> ConnectorSettings:
    base = simulator_connectors(sim)[0]
    return ConnectorSettings.model_validate({**base.model_dump(), **changes})


async def test_token_is_acquired_once_and_then_served_from_msals_cache(
    simulator: Simulator,
) -> None:
    provider = TokenProvider(connector(simulator))
    try:
        first = await provider.token()
        second = await provider.token()
    finally:
        provider.close()

    assert first == second
    assert simulator.token_requests == 1
    claims = decode_claims(first)
    assert claims.roles == frozenset(DEMO_ROLES)
    assert claims.audience == "https://api.securitycenter.microsoft.com"


async def test_the_ca_bundle_wins_over_requests_ca_bundle(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests would otherwise replace our CA with the environment's and fail TLS."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    provider = TokenProvider(connector(simulator))
    try:
        assert await provider.token()
    finally:
        provider.close()


@pytest.mark.parametrize(
    ("changes", "message", "hint"),
    [
        (
            {"client_secret": "wrong-secret-value"},
            "AADSTS7000215: the client secret is wrong",
            "copy the secret's Value (not its ID)",
        ),
        (
            {"client_id": "00000000-0000-4000-8000-000000000001"},
            "AADSTS700016: no application with this client id exists in the tenant",
            "check the client id and the tenant id",
        ),
        (
            {"scope": "https://example.invalid/.default"},
            "AADSTS500011: the token scope names a resource this tenant does not have",
            "use the MDE scope for your cloud",
        ),
    ],
)
async def test_sign_in_failures_are_explained(
    simulator: Simulator, changes: dict[str, object], message: str, hint: str
) -> None:
    provider = TokenProvider(connector(simulator, **changes))
    try:
        with pytest.raises(MdeAuthError) as caught:
            await provider.token()
    finally:
        provider.close()
    assert caught.value.message == message
    assert caught.value.hint.startswith(hint)
    assert "wrong-secret-value" not in str(caught.value)


async def test_unknown_tenant_is_explained(simulator: Simulator) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    provider = TokenProvider(connector(simulator, authority=simulator.authority(other)))
    try:
        with pytest.raises(MdeAuthError) as caught:
            await provider.token()
    finally:
        provider.close()
    assert caught.value.message == "AADSTS90002: the tenant does not exist"
