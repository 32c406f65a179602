"""Action requests: what one is, and the stages it goes through.

A request goes one way through its stages; each step is taken by exactly one caller, however
many click at once, on however many replicas (`bot.actions.store.ActionStore.advance`
compares and sets in the database):

    awaiting approval ──approve──▶ submitting ──MDE took it──▶ submitted ──final──▶ done
          │   └──reject──▶ rejected      └──MDE refused──▶ failed        └──cancel──▶ cancelled
          └──(too late)──▶ expired
    (no approval needed: created straight into submitting)

Where requests are kept: `bot.actions.store` (the bot's database, shared by the replicas).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.mde.actions import ActionKind


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
