"""The "Look up in MDE" message shortcut: the indicators of any message, where auto-enrichment
does not reach (channels without it, threads, direct messages). The answer goes into the
message's thread, or to the person alone when so configured or when the bot cannot post there.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render import Message
from bot.render.kit import context, fit
from bot.slack.payloads import Audience, click_channel, clicker, message_text, thread_ts
from bot.slack.replies import slack_error
from bot.slack.services import Services
from handlers.commands import look_up
from handlers.middleware import authorized

LOOKUP_SHORTCUT = "mde_lookup"  # the callback id in manifest.yaml
# What chat.postMessage says where the bot may not post: it is not a member (a private
# channel, a direct message between people) or cannot see the conversation at all.
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
NOT_IN_THREAD = (
    "I can't post in this conversation, so this answer is for you alone. "
    "Invite me (`/invite @mde`) to answer in the thread."
)


def register(app: AsyncApp, services: Services) -> None:
    @app.shortcut(LOOKUP_SHORTCUT, middleware=[authorized(services)])
    async def look_up(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            await answer_message(services, body, client)


async def answer_message(services: Services, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Look up the shortcut's message as `/mde <its text>` would (progress and notes to the
    person who asked), and deliver the answer."""
    message = body.get("message") or {}
    channel, user = click_channel(body), clicker(body)
    private = services.settings.shortcut_reply == "private" or channel is None
    extraction = await services.enrichment.extract(message_text(message))
    if not extraction.indicators or private or not message.get("ts"):
        audience = Audience(channel, user)
        await services.replies.respond(body, await look_up(extraction, services, body, audience))
        return
    reply = await look_up(extraction, services, body, Audience(channel))
    try:
        await services.replies.post(
            client, channel=str(channel), thread_ts=thread_ts(message), message=reply
        )
    except SlackApiError as exc:
        if slack_error(exc) not in NOT_A_MEMBER:
            raise
        await services.replies.respond(body, for_you_alone(reply))


def for_you_alone(reply: Message) -> Message:
    """The answer the thread could not take, to the person who asked, saying why."""
    blocks = fit([context([NOT_IN_THREAD]), *reply.blocks], context(["…"]))
    return Message(reply.text, blocks, reply.smaller)
