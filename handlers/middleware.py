"""Authorization as listener middleware: checked on every command and every click, before any
MDE call. Refused users get a polite ephemeral note."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.logs import get_logger
from bot.slack.access import home_team
from bot.slack.payloads import click_channel, clicker, requester_teams
from bot.slack.services import Services

log = get_logger(__name__)

Middleware = Callable[..., Awaitable[BoltResponse | None]]
INTERACTIVE = frozenset({"block_actions", "message_action"})


def authorized(services: Services) -> Middleware:
    async def check(
        body: dict[str, Any],
        ack: AsyncAck,
        client: AsyncWebClient,
        context: AsyncBoltContext,
        next_: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        # A click or a shortcut (interactivity payloads) names its user and channel as objects.
        is_click = body.get("type") in INTERACTIVE
        user = clicker(body) if is_click else body.get("user_id")
        channel = click_channel(body) if is_click else body.get("channel_id")
        access = services.access
        foreign = not access.teams_allowed(requester_teams(body), home_team(context))
        if not foreign and await access.allows(client, user, channel):
            await next_()
            return None
        log.info("refused", user=user, channel=channel, foreign_team=foreign)
        refusal = render.refusal_message()
        # A middleware that stops the chain must return the response itself: Bolt would
        # otherwise take the request for one nobody handles and answer Slack 404.
        if not is_click:
            return await ack(text=refusal.text, blocks=refusal.blocks, response_type="ephemeral")
        # A click's (or shortcut's) ack carries no message: the refusal follows it, in a task of
        # its own, on its response_url.
        services.inflight.spawn(services.replies.respond(body, refusal))
        return await ack()

    return check
