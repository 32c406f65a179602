"""A local stand-in for Slack, over real HTTP on loopback, for the demo and the tests.

It plays both sides of Slack:
- the Web API the bot calls (`/api/{method}`) and the `response_url` receiver
  (`/response/{token}`), recording everything the bot sends, and refusing messages Slack would
  refuse (`refusal`: more than 50 blocks, a section over 3,000 characters, more than Slack's
  total of text; `invalid_blocks` or `msg_blocks_too_long`);
- the sender of requests to the bot: slash commands, events and button clicks, signed with the
  signing secret exactly as Slack signs them (`v0=` HMAC-SHA256 over `v0:{ts}:{body}`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

BOT_USER_ID = "UMDEBOT01"
BOT_ID = "BMDEBOT01"
TEAM_ID = "T0INCIDENT"
# Slack refuses a message whose blocks hold more text than about this in all (each block within
# its own limits): `msg_blocks_too_long`.
TOTAL_BLOCK_TEXT = 13_000


def _texts(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def refusal(payload: Mapping[str, Any], *, max_blocks: int = 50) -> str | None:
    """The error Slack would answer a message (or a view: `max_blocks` 100) with, or None
    when it would take it."""
    blocks = payload.get("blocks")
    if not blocks:
        return None
    if not isinstance(blocks, list) or len(blocks) > max_blocks:
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text") if isinstance(block, Mapping) else None
        if isinstance(text, Mapping) and len(str(text.get("text", ""))) > 3000:
            return "invalid_blocks"  # a section's text (headers allow far less)
    if sum(len(t) for t in _texts(blocks)) > TOTAL_BLOCK_TEXT:
        return "msg_blocks_too_long"
    return None


def _view(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A views.* call's view (slack_sdk sends it as JSON text in a form, or as an object)."""
    view = payload.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return {}
    return dict(view) if isinstance(view, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Post:
    """One thing the bot sent to Slack."""

    via: str  # "api" or "response_url"
    method: str  # Web API method, or the response_url token
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """Slack's view of the bot's HTTP answer to a request it sent."""

    status: int
    body: str

    def message(self) -> dict[str, Any]:
        """The body as the message Slack would show: JSON, or plain text (an ephemeral note)."""
        if not self.body:
            return {}
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {"text": self.body}
        return parsed if isinstance(parsed, dict) else {"text": self.body}


@dataclass
class SlackStandIn:
    signing_secret: str
    posts: list[Post] = field(default_factory=list)
    rate_limit_next: dict[str, int] = field(default_factory=dict)  # method → 429s to answer
    # Method (or "response_url") → error codes to refuse the next posts with, one each ("":
    # take that one).
    refuse_next: dict[str, list[str]] = field(default_factory=dict)
    # Method (or "response_url") → posts to accept and then leave unconfirmed: the connection
    # is dropped (Web API) or the answer comes after `slow_seconds` (response_url).
    unconfirmed_next: dict[str, int] = field(default_factory=dict)
    slow_seconds: float = 15.0
    threads_lose_next: int = 0  # thread posts accepted but then lost (not in the thread)
    threads: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # users.info: none without a scope
    uploads: list[bytes] = field(default_factory=list)  # file contents sent to the upload URL
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> SlackStandIn:
        app = web.Application()
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._api),
                web.post("/response/{token}", self._response_url),
                web.get("/socket", self._socket),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        return f"{self.base_url}/response/{secrets.token_hex(8)}"

    # ------------------------------------------------------------------ the Web API side

    async def _payload(self, request: web.Request) -> dict[str, Any]:
        if request.match_info.get("method") == "upload.bin":
            self.uploads.append(await request.read())
            return {}
        payload: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            payload.update(await request.json())
        elif request.can_read_body:
            payload.update({k: str(v) for k, v in (await request.post()).items()})
        for key in ("blocks", "attachments"):
            if isinstance(payload.get(key), str):
                payload[key] = json.loads(payload[key])
        return payload

    def _record(self, post: Post) -> None:
        self.posts.append(post)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        payload = await self._payload(request)
        if self.rate_limit_next.get(method, 0) > 0:
            self.rate_limit_next[method] -= 1
            self._record(Post("api-429", method, payload))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if code := self._refused(method, payload):
            self._record(Post("api-refused", method, payload))
            return web.json_response({"ok": False, "error": code})
        self._record(Post("api", method, payload))
        answer = self._answer(method, payload)
        if method == "chat.postMessage":
            self._keep_in_thread(payload, str(answer["ts"]))
        if self._unconfirmed(method):
            assert request.transport is not None
            request.transport.close()  # accepted, but the caller never hears so
        return web.json_response(answer)

    def _refused(self, method: str, payload: Mapping[str, Any]) -> str | None:
        if (queued := self.refuse_next.get(method)) and (code := queued.pop(0)):
            return code
        if method in {"views.publish", "views.open", "views.update"}:
            view = _view(payload)
            return refusal(view, max_blocks=100) if isinstance(view, Mapping) else "invalid_view"
        return refusal(payload) if method in {"chat.postMessage", "chat.update"} else None

    def _unconfirmed(self, method: str) -> bool:
        if self.unconfirmed_next.get(method, 0) > 0:
            self.unconfirmed_next[method] -= 1
            return True
        return False

    def _keep_in_thread(self, payload: Mapping[str, Any], ts: str) -> None:
        if self.threads_lose_next > 0:
            self.threads_lose_next -= 1
            return
        thread = str(payload.get("thread_ts") or ts)
        self.threads.setdefault((str(payload.get("channel")), thread), []).append(
            {
                "type": "message",
                "ts": ts,
                "thread_ts": thread,
                "bot_id": BOT_ID,
                "text": payload.get("text", ""),
                "metadata": payload.get("metadata"),
            }
        )

    def _answer(self, method: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        canned: dict[str, dict[str, Any]] = {
            "auth.test": {
                "ok": True,
                "url": "https://incident.slack.com/",
                "team": "Incident Response",
                "user": "mde",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            },
            "chat.postMessage": {"ok": True, "channel": payload.get("channel"), "ts": ts},
            "chat.postEphemeral": {"ok": True, "message_ts": ts},
            "chat.update": {"ok": True, "channel": payload.get("channel"), "ts": payload.get("ts")},
            "files.getUploadURLExternal": {
                "ok": True,
                "upload_url": f"{self.base_url}/api/upload.bin",
                "file_id": "F0UPLOAD01",
            },
            "upload.bin": {"ok": True},
            "files.completeUploadExternal": {"ok": True, "files": [{"id": "F0UPLOAD01"}]},
            "conversations.open": {"ok": True, "channel": {"id": f"D0{payload.get('users')}"}},
            "apps.connections.open": {
                "ok": True,
                "url": self.base_url.replace("http", "ws") + "/socket",
            },
            "usergroups.users.list": {
                "ok": True,
                "users": self.usergroups.get(str(payload.get("usergroup", "")), []),
            },
            "users.info": {
                "ok": True,
                "user": {
                    "id": payload.get("user"),
                    "profile": {"email": self.emails[u]}
                    if (u := str(payload.get("user"))) in self.emails
                    else {},
                },
            },
            "views.publish": {"ok": True, "view": {"id": "V0HOME0001", "type": "home"}},
            "views.open": {
                "ok": True,
                "view": {**_view(payload), "id": f"V0VIEW{next(self._ts):06d}", "hash": "h1"},
            },
            "views.update": {
                "ok": True,
                "view": {**_view(payload), "id": payload.get("view_id"), "hash": "h2"},
            },
            "conversations.replies": {
                "ok": True,
                "messages": self.threads.get(
                    (str(payload.get("channel")), str(payload.get("ts"))), []
                ),
            },
        }
        return canned.get(method, {"ok": False, "error": "unknown_method"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record every envelope acknowledgement the app sends."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        self._changed.set()
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MDEBOT01"}}
        )
        async for frame in socket:
            if frame.type is aiohttp.WSMsgType.TEXT:
                ack = json.loads(frame.data)
                self._record(Post("socket", str(ack.get("envelope_id")), ack.get("payload") or {}))
        self._sockets.remove(socket)
        return socket

    @property
    def socket_connected(self) -> bool:
        return any(not s.closed for s in self._sockets)

    async def socket_send(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Deliver a Socket Mode envelope (`slash_commands`, `events_api`, `interactive`)."""
        envelope_id = secrets.token_hex(8)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
        }
        await next(s for s in self._sockets if not s.closed).send_json(envelope)
        return envelope_id

    def socket_acks(self) -> list[str]:
        return [p.method for p in self.posts if p.via == "socket"]

    async def _response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        token = request.match_info["token"]
        if code := self._refused("response_url", payload) or refusal(payload):
            self._record(Post("response_url-refused", token, payload))
            return web.Response(status=400, text=code)
        self._record(Post("response_url", token, payload))
        if self._unconfirmed("response_url"):
            await asyncio.sleep(self.slow_seconds)  # accepted; the answer comes late
        return web.Response(text="ok")

    # ------------------------------------------------------------------ what was posted

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [p.payload for p in self.posts if p.via == "api" and p.method == method]

    def responses(self) -> list[dict[str, Any]]:
        return [p.payload for p in self.posts if p.via == "response_url"]

    def messages(self) -> list[dict[str, Any]]:
        """Everything the bot posted for people to read, in order."""
        readable = {"chat.postMessage", "chat.postEphemeral", "chat.update"}
        return [
            p.payload
            for p in self.posts
            if p.via == "response_url" or (p.via == "api" and p.method in readable)
        ]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Until `predicate()` holds; TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while True:
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()

    # ------------------------------------------------------------------ the sender side

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}

    async def send(
        self,
        bot_url: str,
        body: str,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
    ) -> Reply:
        assert self._session is not None, "start() the stand-in first"
        all_headers = {"Content-Type": content_type, **self.sign(body, timestamp)}
        all_headers.update(headers or {})
        async with self._session.post(bot_url, data=body.encode(), headers=all_headers) as resp:
            return Reply(resp.status, await resp.text())

    async def command(
        self,
        bot_url: str,
        text: str,
        *,
        user_id: str = "U0RESPONDER",
        channel_id: str = "C0INCIDENT",
        command: str = "/mde",
        response_url: str | None = None,
        timestamp: int | None = None,
        **extra: Any,
    ) -> Reply:
        form = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "incident",
            "channel_id": channel_id,
            "channel_name": "incident",
            "user_id": user_id,
            "user_name": "responder",
            "command": command,
            "text": text,
            "api_app_id": "A0MDEBOT01",
            "response_url": response_url or self.response_url(),
            "trigger_id": f"{int(time.time())}.trigger",
            **extra,
        }
        body = urlencode(form)
        return await self.send(
            bot_url, body, "application/x-www-form-urlencoded", timestamp=timestamp
        )

    async def event(
        self,
        bot_url: str,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        envelope = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0MDEBOT01",
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return await self.send(bot_url, json.dumps(envelope), "application/json", headers=headers)

    async def message(
        self,
        bot_url: str,
        text: str,
        *,
        channel: str = "C0INCIDENT",
        user: str = "U0RESPONDER",
        ts: str | None = None,
        **extra: Any,
    ) -> Reply:
        """A new message pasted into a channel, as the Events API delivers it."""
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts or f"{int(time.time())}.{next(self._ts):06d}",
            "channel_type": "channel",
            **extra,
        }
        return await self.event(bot_url, event)

    async def home_opened(self, bot_url: str, *, user: str = "U0RESPONDER") -> Reply:
        """Someone opens the bot's App Home tab."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D0{user}",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        return await self.event(bot_url, event)

    @staticmethod
    def shortcut_payload(
        message: Mapping[str, Any],
        *,
        response_url: str,
        channel: str = "C0INCIDENT",
        user: str = "U0RESPONDER",
        callback_id: str = "mde_lookup",
    ) -> dict[str, Any]:
        """The `message_action` payload Slack sends when someone runs a message shortcut on
        `message` (which has its `ts`, and `thread_ts` inside a thread)."""
        return {
            "type": "message_action",
            "token": "legacy-verification-token-unused",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM_ID, "domain": "incident"},
            "user": {"id": user, "username": "responder", "team_id": TEAM_ID, "name": "responder"},
            "channel": {"id": channel, "name": "incident"},
            "callback_id": callback_id,
            "trigger_id": f"{int(time.time())}.trigger",
            "message_ts": message["ts"],
            "message": {"type": "message", **message},
            "response_url": response_url,
        }

    @staticmethod
    def submission_payload(
        view: Mapping[str, Any],
        values: Mapping[str, Mapping[str, Any]],
        *,
        view_id: str,
        user: str = "U0RESPONDER",
    ) -> dict[str, Any]:
        """The `view_submission` payload Slack sends when someone submits the modal `view`
        (as the bot opened it) with `values`: {block_id: {action_id: value object}}."""
        return {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "incident"},
            "user": {"id": user, "username": "responder", "name": "responder", "team_id": TEAM_ID},
            "api_app_id": "A0MDEBOT01",
            "token": "legacy-verification-token-unused",
            "trigger_id": f"{int(time.time())}.trigger",
            "view": {
                **view,
                "id": view_id,
                "team_id": TEAM_ID,
                "state": {"values": {k: dict(v) for k, v in values.items()}},
                "hash": "h2",
            },
            "response_urls": [],
        }

    async def action(self, bot_url: str, payload: Mapping[str, Any]) -> Reply:
        """A click or a shortcut (an interactivity payload, form-encoded like Slack's)."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self.send(bot_url, body, "application/x-www-form-urlencoded")

    @staticmethod
    def click_payload(
        element: Mapping[str, Any],
        *,
        message_ts: str,
        response_url: str,
        channel: str = "C0INCIDENT",
        user: str = "U0RESPONDER",
        ephemeral: bool = False,
        message: Mapping[str, Any] | None = None,
        value: str | None = None,
        option: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The `block_actions` payload Slack sends for a click on a button `element` of the
        message at `message_ts` (`message`: that message, for a non-ephemeral card), or for
        the choice of `option` in an overflow menu `element`."""
        action: dict[str, Any] = {
            "action_id": element["action_id"],
            "block_id": "b1",
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "overflow":
            if option is None:
                raise ValueError("a menu is clicked by choosing one of its options")
            chosen = {"text": option["text"], "value": option["value"]}
            action["selected_option"] = chosen if value is None else {**chosen, "value": value}
        else:
            action["text"] = element["text"]
            if value is not None or "value" in element:
                action["value"] = value if value is not None else element["value"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "incident"},
            "user": {"id": user, "username": "responder", "team_id": TEAM_ID},
            "api_app_id": "A0MDEBOT01",
            "token": "legacy-verification-token-unused",
            "trigger_id": f"{int(time.time())}.trigger",
            "channel": {"id": channel, "name": "incident"},
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "response_url": response_url,
            "actions": [action],
            "state": {"values": {}},
        }
        if not ephemeral and message is not None:
            payload["message"] = {"type": "message", "ts": message_ts, **message}
        return payload


def clickables(
    blocks: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(button, None) for each button and (menu, option) for each option of a menu, in the
    order a reader meets them."""
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        if "accessory" in block:
            elements = [block["accessory"]]
        for element in elements:
            if element["type"] == "overflow":
                yield from ((element, option) for option in element["options"])
            elif element["type"] == "button":
                yield element, None
