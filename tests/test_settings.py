"""Settings fail fast, with one line that names the variable and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.errors import ConfigError
from bot.settings import Cloud, load_connectors, load_slack_settings

GOOD_TOKEN = "xoxb-1111111111-2222222222-abcdefghijklmnop"
GOOD_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TENANT = "4f1c2a0e-6b1d-4c1e-9a57-0c7d3f1e2a10"
CLIENT = "5d3f7a9c-1b2e-4c6d-8e0f-a1b2c3d4e5f6"


def slack_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_slack_settings(env_file=None)
    return str(caught.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"SLACK_SIGNING_SECRET": GOOD_SECRET},
            "SLACK_BOT_TOKEN is missing — copy the Bot User OAuth Token (xoxb-…) from OAuth & "
            "Permissions",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-your-bot-token", "SLACK_SIGNING_SECRET": GOOD_SECRET},
            "SLACK_BOT_TOKEN is a placeholder — copy the Bot User OAuth Token (xoxb-…) from "
            "OAuth & Permissions",
        ),
        (
            {"SLACK_BOT_TOKEN": "xapp-1-A1-123-abc", "SLACK_SIGNING_SECRET": GOOD_SECRET},
            "SLACK_BOT_TOKEN must start with 'xoxb-'",
        ),
        (
            {"SLACK_BOT_TOKEN": GOOD_TOKEN},
            "SLACK_SIGNING_SECRET is missing — copy the Signing Secret from Basic Information",
        ),
        (
            {"SLACK_BOT_TOKEN": GOOD_TOKEN, "SLACK_SIGNING_SECRET": "changeme"},
            "SLACK_SIGNING_SECRET is a placeholder",
        ),
        (
            {"SLACK_BOT_TOKEN": GOOD_TOKEN, "SLACK_SIGNING_SECRET": ""},
            "SLACK_SIGNING_SECRET is a placeholder",
        ),
        (
            {
                "SLACK_BOT_TOKEN": GOOD_TOKEN,
                "SLACK_SIGNING_SECRET": GOOD_SECRET,
                "SLACK_APP_TOKEN": "xoxb-wrong-kind",
            },
            "SLACK_APP_TOKEN must start with 'xapp-'",
        ),
    ],
)
def test_slack_setting_errors_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    message = slack_error(monkeypatch, **env)
    assert message.startswith(expected)
    assert "\n" not in message


def test_a_secret_never_appears_in_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    message = slack_error(
        monkeypatch, SLACK_BOT_TOKEN="xapp-secret-value-123", SLACK_SIGNING_SECRET=GOOD_SECRET
    )
    assert "secret-value-123" not in message


def test_good_slack_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", GOOD_SECRET)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = load_slack_settings(env_file=None)
    assert settings.api_url == "http://127.0.0.1:9/api/"  # slack_sdk needs the slash
    assert settings.app_token is None


def connector_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    base = {"MDE_TENANT_ID": TENANT, "MDE_CLIENT_ID": CLIENT, "MDE_CLIENT_SECRET": "s3cr3t-v4lue"}
    for key, value in {**base, **env}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_connectors(env_file=None)
    return str(caught.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MDE_TENANT_ID": "contoso"}, "MDE_TENANT_ID (the environment): must be the directory"),
        ({"MDE_CLIENT_ID": "12345"}, "MDE_CLIENT_ID (the environment): must be the application"),
        ({"MDE_CLIENT_SECRET": ""}, "MDE_CLIENT_SECRET (the environment): is missing"),
        ({"MDE_CLOUD": "moon"}, "MDE_CLOUD (the environment): Input should be 'commercial'"),
        ({"MDE_API_URL": "http://x"}, "MDE_API_URL (the environment): must be an https URL"),
        ({"MDE_ALIAS": "Bad Alias!"}, "MDE_ALIAS (the environment): must be 1-32 lower-case"),
        ({"MDE_CA_BUNDLE": "/nonexistent.pem"}, "MDE_CA_BUNDLE (the environment): "),
        ({"MDE_CLOUD": "custom"}, "MDE_CLOUD (the environment): cloud 'custom' needs api_url"),
    ],
)
def test_malformed_mde_settings_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    message = connector_error(monkeypatch, **env)
    assert message.startswith(expected)
    assert "s3cr3t-v4lue" not in message


def test_no_mde_settings_means_the_embedded_simulator() -> None:
    assert load_connectors(env_file=None) == []


def test_one_tenant_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDE_TENANT_ID", TENANT)
    monkeypatch.setenv("MDE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("MDE_CLIENT_SECRET", "s3cr3t-v4lue")
    monkeypatch.setenv("MDE_CLOUD", "gcc-high")
    [connector] = load_connectors(env_file=None)
    assert connector.alias == "mde"
    assert connector.cloud is Cloud.GCC_HIGH
    assert connector.resolved_api_url == "https://api-gov.securitycenter.microsoft.us"
    assert connector.resolved_authority == f"https://login.microsoftonline.us/{TENANT}"
    assert connector.resolved_portal_url == "https://security.microsoft.us"


def test_several_tenants_from_a_file_with_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "connectors.toml"
    path.write_text(
        f"""
[[connectors]]
alias = "contoso"
tenant_id = "{TENANT}"
client_id = "{CLIENT}"
client_secret_env = "CONTOSO_SECRET"

[[connectors]]
alias = "fabrikam"
cloud = "commercial-eu"
tenant_id = "9b2e7d41-3c5a-4f08-8e6b-2d1f0a9c7e55"
client_id = "{CLIENT}"
client_secret_env = "FABRIKAM_SECRET"
enabled = false
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("MDE_CONNECTORS_FILE", str(path))
    monkeypatch.setenv("CONTOSO_SECRET", "contoso-secret")
    monkeypatch.setenv("FABRIKAM_SECRET", "fabrikam-secret")
    contoso, fabrikam = load_connectors(env_file=None)
    assert contoso.client_secret.get_secret_value() == "contoso-secret"
    assert fabrikam.resolved_api_url == "https://eu.api.security.microsoft.com"
    assert fabrikam.enabled is False


def test_a_secret_written_into_the_connectors_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "connectors.json"
    entry = {"alias": "a", "tenant_id": TENANT, "client_id": CLIENT, "client_secret": "oops"}
    path.write_text(json.dumps({"connectors": [entry]}), encoding="utf-8")
    monkeypatch.setenv("MDE_CONNECTORS_FILE", str(path))
    with pytest.raises(ConfigError, match="client_secret must not be written in a file"):
        load_connectors(env_file=None)


def test_a_secret_variable_that_is_not_set_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "connectors.json"
    entry = {"alias": "a", "tenant_id": TENANT, "client_id": CLIENT, "client_secret_env": "A_SEC"}
    path.write_text(json.dumps({"connectors": [entry]}), encoding="utf-8")
    monkeypatch.setenv("MDE_CONNECTORS_FILE", str(path))
    with pytest.raises(ConfigError, match=r"^A_SEC \(.*connector #1\): is missing"):
        load_connectors(env_file=None)


def test_serve_stops_with_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("SLACK_BOT_TOKEN", GOOD_TOKEN)

    assert main(["serve"], register=lambda app, services: None) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "mde-bot: configuration error: SLACK_SIGNING_SECRET is missing — copy the Signing "
        "Secret from Basic Information"
    ]
