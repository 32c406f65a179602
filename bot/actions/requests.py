"""Action requests and where they are kept.

A request goes one way through its stages; each step is taken by exactly one caller, however
many click at once (`ActionStore.advance` compares and sets under one lock):

    awaiting approval ──approve──▶ submitting ──MDE took it──▶ submitted ──final──▶ done
          │   └──reject──▶ rejected      └──MDE refused──▶ failed        └──cancel──▶ cancelled
          └──(too late)──▶ expired
    (no approval needed: created straight into submitting)

The store here lives in the process. It keeps every open request and the most recent finished
ones (MAX_REQUESTS in all): a card's buttons for an older request say it is unknown.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.mde.actions import ActionKind

MAX_REQUESTS = 5000
MAX_KEYS = 5000  # idempotency keys remembered (a modal's view id, a click's id)


class Stage(StrEnum):
    AWAITING = "awaiting approval"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DONE = "done"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL = frozenset({Stage.DONE, Stage.REJECTED, Stage.EXPIRED, Stage.FAILED, Stage.CANCELLED})


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One response action someone asked for, and how far it has come."""

    id: str
    kind: ActionKind
    tenant: str  # the connector's alias
    subject: str  # what MDE acts on: a device id, an alert id, an indicator's value
    subject_name: str  # what people read: a device's name, an alert's title, the indicator
    comment: str  # the requester's words (MDE's comment adds who, where and the marker)
    requester: str  # Slack user id
    team: str
    channel: str
    thread: str  # the thread the request lives in ("" when none)
    created: float  # seconds since the epoch
    stage: Stage
    options: Mapping[str, str] = field(default_factory=dict)  # isolation, scan type, tag, …
    needs_approval: bool = False
    expires: float | None = None  # when an approval can no longer be given
    approver: str | None = None  # who approved or rejected it
    mde_id: str | None = None  # MDE's id of the machine action (or of the indicator)
    mde_status: str | None = None  # MDE's status: Pending, InProgress, Succeeded, …
    note: str | None = None  # what happened, in our words (a refusal, "already pending")
    message_ts: str | None = None  # the Slack message that shows the request
    dry_run: bool = False

    @property
    def marker(self) -> str:
        """Put at the end of every comment sent to MDE: finds the request's action again."""
        return f"[mde-bot {self.id}]"

    def audit_details(self) -> dict[str, Any]:
        return {
            "request_id": self.id,
            "action": str(self.kind),
            "options": dict(self.options),
            "comment": self.comment,
            "stage": str(self.stage),
            "action_id": self.mde_id,
            "status": self.mde_status,
            "approver": self.approver,
            "note": self.note,
            "dry_run": self.dry_run,
        }


def new_request_id() -> str:
    return secrets.token_hex(8)


class ActionStore:
    """Requests by id, and the idempotency keys that created them."""

    def __init__(self, *, max_requests: int = MAX_REQUESTS) -> None:
        self._requests: OrderedDict[str, ActionRequest] = OrderedDict()
        self._keys: OrderedDict[str, str] = OrderedDict()
        self._max = max_requests
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._requests)

    async def create(self, request: ActionRequest, *, key: str) -> tuple[ActionRequest, bool]:
        """Keep `request`, unless `key` already made one: (the request, whether it is new).
        A modal submitted twice, or a click delivered twice, makes one request."""
        async with self._lock:
            if (known := self._keys.get(key)) is not None and known in self._requests:
                return self._requests[known], False
            self._requests[request.id] = request
            self._keys[key] = request.id
            self._trim()
            return request, True

    async def get(self, request_id: str) -> ActionRequest | None:
        return self._requests.get(request_id)

    async def advance(
        self, request_id: str, expect: frozenset[Stage] | Stage, **changes: Any
    ) -> ActionRequest | None:
        """Apply `changes` if the request is still at one of the `expect`ed stages; None when
        it is not (someone else took that step first) or is unknown."""
        wanted = frozenset({expect}) if isinstance(expect, Stage) else expect
        async with self._lock:
            current = self._requests.get(request_id)
            if current is None or current.stage not in wanted:
                return None
            updated = replace(current, **changes)
            self._requests[request_id] = updated
            return updated

    async def note(self, request_id: str, **changes: Any) -> ActionRequest | None:
        """Changes that are not a step (MDE's status within a stage, the Slack message)."""
        async with self._lock:
            current = self._requests.get(request_id)
            if current is None:
                return None
            updated = replace(current, **changes)
            self._requests[request_id] = updated
            return updated

    async def open_requests(self) -> list[ActionRequest]:
        return [r for r in self._requests.values() if not r.stage.final]

    def _trim(self) -> None:
        """Forget the oldest finished requests beyond the bound (open ones are kept)."""
        while len(self._requests) > self._max:
            finished = next((k for k, r in self._requests.items() if r.stage.final), None)
            if finished is None:
                break
            del self._requests[finished]
        while len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)
