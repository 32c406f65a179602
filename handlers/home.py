"""The App Home tab: published afresh each time someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.home import home_view
from bot.slack.access import home_team
from bot.slack.payloads import requester_teams
from bot.slack.services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return  # the Messages tab, or nobody to show it to
        async with services.work(body, client, after_ack=False):
            await publish_home(services, body, client, str(event["user"]), home_team(context))


async def publish_home(
    services: Services,
    body: dict[str, Any],
    client: AsyncWebClient,
    user: str,
    home: str | None,
) -> None:
    """The reader's Home tab: the connections' status (tested at most every few minutes,
    whoever asks), how to ask, and their own recent lookups."""
    access = services.access
    allowed = access.teams_allowed(requester_teams(body), home) and await access.user_allowed(
        client, user
    )
    if not allowed:
        await client.views_publish(user_id=user, view=home_view(None, (), allowed=False))
        return
    status, tested = await services.connection_status()  # each failure is in the report
    recent = await services.recent.get(user) or ()
    view = home_view(status, recent, checked_at=tested)
    await client.views_publish(user_id=user, view=view)
