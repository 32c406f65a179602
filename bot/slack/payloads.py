"""PURE: small helpers that read Slack payloads, so listeners never chain `body["a"]["b"]`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.indicators import text_of_rich_text


def thread_ts(message: Mapping[str, Any]) -> str:
    """Reply in the message's thread, or start one under it."""
    return str(message.get("thread_ts") or message["ts"])


def is_bot_message(message: Mapping[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def delivery_keys(body: Mapping[str, Any], message: Mapping[str, Any]) -> tuple[str, ...]:
    """What identifies one message across Slack's duplicate deliveries: the event id, and the
    message itself (the same message can arrive as different events). Strings, since the
    replicas share them as Redis keys (ids only: never the message's text)."""
    keys = [f"message:{message.get('channel')}:{message.get('ts')}"]
    if event_id := body.get("event_id"):
        keys.append(f"event:{event_id}")
    return tuple(keys)


def message_text(message: Mapping[str, Any]) -> str:
    """The text to extract from: `text`, plus what alerting bots put in attachments and in
    Block Kit sections. A person's rich-text blocks repeat `text`, so they are read only when
    `text` is empty."""
    text = str(message.get("text") or "")
    parts = [text]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, Mapping):
            parts.extend(
                str(attachment[k])
                for k in ("pretext", "title", "text", "fallback")
                if attachment.get(k)
            )
    blocks = [b for b in message.get("blocks") or [] if isinstance(b, Mapping)]
    if not text:
        parts.append(text_of_rich_text(blocks))
    parts.extend(_block_texts(blocks))
    return "\n".join(p for p in parts if p)


def _block_texts(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text objects of section, header and context blocks (mrkdwn is Slack-encoded already,
    as `text` is)."""
    texts: list[str] = []
    for block in blocks:
        if block.get("type") not in {"section", "header", "context"}:
            continue
        objects = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        texts.extend(
            str(o["text"])
            for o in objects
            if isinstance(o, Mapping) and isinstance(o.get("text"), str)
        )
    return texts


def requester_teams(body: Mapping[str, Any]) -> frozenset[str]:
    """Every workspace a request speaks for: the one it came from and, in a Slack Connect
    channel, the one of the person (or bot) behind it. A command carries `team_id` (and
    `user_team`); an event its envelope's `team_id` and the message's `team`, `user_team` and
    `source_team`; a click `team.id` and `user.team_id`."""
    event = body.get("event")
    team, user = body.get("team"), body.get("user")
    candidates = [body.get("team_id"), body.get("user_team")]
    if isinstance(event, Mapping):
        candidates += [event.get(k) for k in ("team", "user_team", "source_team")]
    if isinstance(team, Mapping):
        candidates.append(team.get("id"))
    if isinstance(user, Mapping):
        candidates.append(user.get("team_id"))
    return frozenset(str(c) for c in candidates if c)


def acting_user(body: Mapping[str, Any]) -> str | None:
    """Who a request acts for: a command's user, a click's, an event's author (a bot's id
    when a bot posted)."""
    event, user = body.get("event"), body.get("user")
    if isinstance(event, Mapping):
        author = event.get("user") or event.get("bot_id")
    elif isinstance(user, Mapping):
        author = user.get("id")
    else:
        author = body.get("user_id")
    return str(author) if author else None


def action_value(body: Mapping[str, Any]) -> str:
    """A button's value, or the value of the option chosen in a menu."""
    action = (body.get("actions") or [{}])[0]
    chosen = action.get("selected_option") or {}
    return str(action.get("value") or chosen.get("value") or "")


def clicker(body: Mapping[str, Any]) -> str | None:
    user = body.get("user") or {}
    return str(user["id"]) if isinstance(user, Mapping) and user.get("id") else None


def click_channel(body: Mapping[str, Any]) -> str | None:
    channel = body.get("channel") or {}
    if isinstance(channel, Mapping) and channel.get("id"):
        return str(channel["id"])
    container = body.get("container") or {}
    return str(container["channel_id"]) if container.get("channel_id") else None


def click_card(body: Mapping[str, Any]) -> str | None:
    """The ts of the message whose button was clicked."""
    container = body.get("container") or {}
    ts = container.get("message_ts")
    return str(ts) if ts else None


def click_is_private(body: Mapping[str, Any]) -> bool:
    """A click on an ephemeral card: what it shows was for the clicker only."""
    container = body.get("container") or {}
    return bool(container.get("is_ephemeral"))


def click_thread(body: Mapping[str, Any]) -> str | None:
    """The thread a click's answer belongs in: the card's thread, or under the card."""
    if click_is_private(body):
        return None  # an ephemeral card has no message to thread under
    container = body.get("container") or {}
    message = body.get("message") or {}
    ts = message.get("thread_ts") or container.get("thread_ts") or container.get("message_ts")
    return str(ts) if ts else None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who can see a card: the people of its channel, or its one reader when it was private."""

    channel: str | None
    reader: str | None = None  # the user a private (ephemeral) card was shown to

    def admits(self, channel: str | None, user: str | None) -> bool:
        return (
            channel is not None
            and channel == self.channel
            and (self.reader is None or user == self.reader)
        )


def command_audience(body: Mapping[str, Any], *, private: bool) -> Audience:
    """The audience of a slash command's answer."""
    user = body.get("user_id")
    return Audience(body.get("channel_id"), str(user) if private and user else None)


def click_audience(body: Mapping[str, Any]) -> Audience:
    """The audience of what a click answers: the card's own."""
    return Audience(click_channel(body), clicker(body) if click_is_private(body) else None)


# What kind of request a body is, for metrics and the request's log line: Slack's payload
# types, grouped as the `kind` label has them (bot.metrics).
_KINDS = {
    "event_callback": "event",
    "url_verification": "event",
    "block_actions": "action",
    "interactive_message": "action",
    "message_action": "shortcut",
    "shortcut": "shortcut",
    "view_submission": "view",
    "view_closed": "view",
    "block_suggestion": "options",
}


def request_kind(body: Mapping[str, Any]) -> str:
    """command, event, action, shortcut, view or options (`other` for anything else)."""
    if body.get("command"):
        return "command"
    return _KINDS.get(str(body.get("type") or ""), "other")


def request_name(body: Mapping[str, Any]) -> str:
    """What was asked, by name only (never its text): the command, the event's type, the
    action's or view's id."""
    if command := body.get("command"):
        return str(command)
    event = body.get("event")
    if isinstance(event, Mapping):
        return str(event.get("type") or "")
    actions = body.get("actions")
    if isinstance(actions, Sequence) and actions and isinstance(actions[0], Mapping):
        return str(actions[0].get("action_id") or "")
    view = body.get("view")
    if isinstance(view, Mapping):
        return str(view.get("callback_id") or "")
    return str(body.get("callback_id") or body.get("type") or "")


def request_channel(body: Mapping[str, Any]) -> str | None:
    """The channel a request comes from, whatever its kind."""
    event = body.get("event")
    if isinstance(event, Mapping) and event.get("channel"):
        return str(event["channel"])
    return click_channel(body) or (str(body["channel_id"]) if body.get("channel_id") else None)
