"""Slack listeners: thin (ack → parse → call the service → render → respond).

`register` wires every listener onto the app `bot.runtime` builds; `main` is the `mde-bot`
console script, which hands `register` to the CLI so that `bot/` never imports `handlers/`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.actions import Notifier
from bot.slack.services import Services
from handlers import actions, commands, home, messages, respond, shortcuts


def register(app: AsyncApp, services: Services) -> None:
    # A request's message follows it: posted, then updated, through the app's Web API client.
    services.actions.on_change = Notifier(services.actions, app.client, services.metrics).changed
    commands.register(app, services)
    actions.register(app, services)
    respond.register(app, services)
    shortcuts.register(app, services)
    home.register(app, services)
    messages.register(app, services)  # last: its catch-all absorbs the events nobody handles


def main() -> None:
    from bot.cli.main import main as cli_main

    raise SystemExit(cli_main(register=register))
