"""Response actions: asked for, approved where policy says, sent to MDE exactly once, followed
to their end, and every step audited.

    request ─(policy: may this user? does it need a second responder?)─▶ awaiting or submitting
    approve / reject ─(re-authorized when clicked; never the requester's own)─▶ submitting …
    submit  ─▶ MDE, once: the comment carries the request's marker; when MDE's answer is lost
              (a 5xx, a timeout after sending) the device's actions are read to see whether
              MDE has it before anything is sent again; "already in progress" is shown, not
              repeated
    follow  ─▶ MDE's status polled within the call budget until it is final

The service knows nothing of Slack: it returns requests, and tells `on_change` (set by the
Slack edge) each time one changes. With `mode="dry-run"` everything happens but the write to
MDE, which is described instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.actions import mde as calls
from bot.actions.policy import CLASS_OF, Policy, Target
from bot.actions.requests import ActionRequest, Stage, new_request_id
from bot.actions.store import ActionStore
from bot.audit.records import Actor, AuditKind, Place
from bot.errors import InputError, MdeError
from bot.logs import get_logger
from bot.mde.actions import ActionKind
from bot.mde.client import MdeClient
from bot.slack.mrkdwn import mention
from bot.state.lease import Leases, LocalLeases

log = get_logger(__name__)

Mode = Literal["off", "dry-run", "on"]
# How often a submitted action's status is read: first after POLL_FIRST seconds, then each wait
# POLL_GROWTH times longer, at most POLL_MAX apart; followed for FOLLOW_FOR seconds at most
# (MDE times an action out well before: an offline device's after about a day, so a much
# longer wait is not followed here, and the card says so).
POLL_FIRST, POLL_GROWTH, POLL_MAX = 5.0, 1.5, 60.0
FOLLOW_FOR = 4 * 3600.0
UNCONFIRMED_TRIES = 3  # sends of one request whose answer was lost, at most


class NotAllowed(InputError):
    """The user may not do this (not a responder, their own approval, an action off)."""


class Auditor(Protocol):
    async def append(
        self,
        kind: AuditKind,
        *,
        actor: Actor,
        place: Place = ...,
        tenants: Any = ...,
        subject: str = ...,
        details: Mapping[str, Any] | None = ...,
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Asker:
    """Who clicks: a Slack user, their team, and which responder groups they are in."""

    user: str
    team: str = ""
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Ask:
    """What is asked for, as a modal or a button says it."""

    kind: ActionKind
    tenant: str
    subject: str
    subject_name: str
    comment: str
    options: Mapping[str, str]
    # What approval rules look at (a device's tags, group, OS); none for alerts and indicators.
    target: Target = field(default_factory=Target)


Listener = Callable[[ActionRequest], Awaitable[None]]


async def _nobody(_: ActionRequest) -> None:
    return None


class ActionService:
    def __init__(
        self,
        clients: Mapping[str, MdeClient],
        policy: Policy,
        audit: Auditor,
        *,
        store: ActionStore,
        mode: Mode = "off",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_first: float = POLL_FIRST,
        leases: Leases | None = None,
    ) -> None:
        self.clients = clients
        self.policy = policy
        self.audit = audit
        self.mode = mode
        self.store = store
        self.leases: Leases = leases or LocalLeases()  # who follows which request (bot.state)
        self.on_change: Listener = _nobody  # set by the Slack edge
        self._clock = clock
        self._sleep = sleep
        self._poll_first = poll_first

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    # ------------------------------------------------------------------ asking

    async def request(
        self, ask: Ask, asker: Asker, *, channel: str, thread: str, key: str
    ) -> ActionRequest:
        """A new request (one per `key`: a modal submitted twice makes one). Sent to MDE at
        once unless a rule says a second responder must approve it."""
        self._check_enabled()
        client = self._client(ask.tenant)
        if not self.policy.may_request(ask.kind, asker.user, asker.groups):
            await self._refused(asker, channel, thread, ask, "not a responder")
            raise NotAllowed(
                f"you are not a responder for {CLASS_OF[ask.kind]} actions",
                hint="ask the team that runs the bot to add you",
            )
        await calls.require_role(client, ask.kind)
        now = self._clock()
        needs = self.policy.needs_approval(ask.kind, ask.target)
        request = ActionRequest(
            id=new_request_id(),
            kind=ask.kind,
            tenant=ask.tenant,
            subject=ask.subject,
            subject_name=ask.subject_name,
            comment=ask.comment.strip(),
            requester=asker.user,
            team=asker.team,
            channel=channel,
            thread=thread,
            created=now,
            stage=Stage.AWAITING if needs else Stage.SUBMITTING,
            options=dict(ask.options),
            needs_approval=needs,
            expires=now + self.policy.approval_seconds if needs else None,
            dry_run=self.mode == "dry-run",
        )
        request, created = await self.store.create(request, key=key)
        if not created:
            return request  # the same modal again: the first request stands
        await self._audit(AuditKind.ACTION_REQUESTED, request, asker)
        await self.on_change(request)
        if needs:
            return request
        return await self._send(request)

    async def approve(self, request_id: str, asker: Asker) -> ActionRequest:
        """A second responder's approval, checked now: the request is still waiting, not
        expired, not the approver's own, and the approver a responder of its class."""
        request = await self._waiting(request_id, asker)
        if asker.user == request.requester:
            raise NotAllowed("you asked for this one", hint="a second responder must approve it")
        if not self.policy.may_approve(request.kind, asker.user, request.requester, asker.groups):
            raise NotAllowed(
                f"only a responder for {CLASS_OF[request.kind]} actions can approve this",
                hint="ask one of them to look at it",
            )
        taken = await self.store.advance(
            request_id, Stage.AWAITING, stage=Stage.SUBMITTING, approver=asker.user
        )
        if taken is None:  # somebody else decided first
            return await self._already(request_id)
        await self._audit(AuditKind.ACTION_APPROVED, taken, asker)
        return await self._send(taken)

    async def reject(self, request_id: str, asker: Asker) -> ActionRequest:
        """Rejected by a responder of its class, or withdrawn by the requester."""
        request = await self._waiting(request_id, asker)
        own = asker.user == request.requester
        if not own and not self.policy.may_request(request.kind, asker.user, asker.groups):
            raise NotAllowed(
                f"only a responder for {CLASS_OF[request.kind]} actions can reject this",
                hint="ask one of them to look at it",
            )
        note = "withdrawn by the requester" if own else None
        taken = await self.store.advance(
            request_id, Stage.AWAITING, stage=Stage.REJECTED, approver=asker.user, note=note
        )
        if taken is None:
            return await self._already(request_id)
        await self._audit(AuditKind.ACTION_REJECTED, taken, asker)
        await self.on_change(taken)
        return taken

    async def cancel(self, request_id: str, asker: Asker) -> ActionRequest:
        """Cancel an action MDE has not finished: by the requester or a responder of its
        class. MDE's own answer decides (it refuses once the action has run)."""
        request = await self._known(request_id)
        may = asker.user == request.requester or self.policy.may_request(
            request.kind, asker.user, asker.groups
        )
        if not may:
            raise NotAllowed("only the requester or a responder can cancel this")
        if request.stage is not Stage.SUBMITTED or request.mde_id is None:
            raise InputError(f"this action is {self._said(request)}: nothing to cancel")
        if not request.dry_run:
            comment = f"Cancelled by {asker.user} in Slack {request.marker}"
            await calls.cancel(self._client(request.tenant), request.mde_id, comment=comment)
        cancelled = await self.store.advance(
            request_id, Stage.SUBMITTED, stage=Stage.CANCELLED, mde_status="Cancelled"
        )
        if cancelled is None:
            return await self._already(request_id)
        await self._audit(AuditKind.ACTION_CANCELLED, cancelled, asker)
        await self.on_change(cancelled)
        return cancelled

    # ------------------------------------------------------------------ sending, once

    async def _send(self, request: ActionRequest) -> ActionRequest:
        """The request is `submitting`, claimed by this caller alone: send it to MDE once."""
        client = self._client(request.tenant)
        note: str | None
        if request.dry_run:
            sent = calls.Sent(mde_id=None, status="DryRun", final=True)
            note = "dry run: " + calls.describe(request)
        else:
            try:
                sent = await self._deliver(client, request)
                note = sent.note
            except MdeError as exc:
                failed = await self.store.advance(
                    request.id, Stage.SUBMITTING, stage=Stage.FAILED, note=exc.message
                )
                assert failed is not None  # this caller holds the submitting stage
                await self._audit(AuditKind.ACTION_SUBMITTED, failed, None)
                await self.on_change(failed)
                return failed
        stage = Stage.DONE if sent.final else Stage.SUBMITTED
        done = await self.store.advance(
            request.id,
            Stage.SUBMITTING,
            stage=stage,
            mde_id=sent.mde_id,
            mde_status=sent.status,
            note=note,
        )
        assert done is not None
        await self._audit(AuditKind.ACTION_SUBMITTED, done, None)
        await self.on_change(done)
        return done

    async def _deliver(self, client: MdeClient, request: ActionRequest) -> calls.Sent:
        """Send, and when MDE's answer is lost, look before sending again."""
        for attempt in range(1, UNCONFIRMED_TRIES + 1):
            try:
                return await calls.send(client, request)
            except calls.MdeUnconfirmed:
                log.warning("action_unconfirmed", request=request.id, attempt=attempt)
                found = await calls.find(client, request)
                if found is not None:
                    return found
        raise calls.MdeUnconfirmed(
            request.tenant,
            "MDE did not confirm the action, and does not show it",
            hint="check the device's action center in Defender before asking again",
        )

    async def package_link(self, request: ActionRequest) -> str:
        """A collected investigation package's short-lived link (a credential: never log it)."""
        return await calls.package_link(self._client(request.tenant), request)

    # ------------------------------------------------------------------ following

    async def follow(self, request: ActionRequest) -> ActionRequest:
        """Poll MDE until the action is final (or FOLLOW_FOR has passed), telling `on_change`
        of every new status. Run it as an owned task; cancelling it stops the polling only."""
        wait = self._poll_first
        deadline = self._clock() + FOLLOW_FOR
        while request.stage is Stage.SUBMITTED and request.mde_id is not None:
            if self._clock() >= deadline:
                noted = await self.store.note(
                    request.id, note="no final status from MDE yet: see Defender's action center"
                )
                return noted or request
            await self._sleep(wait)
            wait = min(wait * POLL_GROWTH, POLL_MAX)
            try:
                status, final = await calls.status(self._client(request.tenant), request)
            except MdeError as exc:  # a missed poll is retried at the next one
                log.warning("action_poll_failed", request=request.id, error=type(exc).__name__)
                continue
            current = await self.store.get(request.id)
            if current is None or current.stage is not Stage.SUBMITTED:
                return current or request  # cancelled meanwhile
            if status == current.mde_status:
                request = current
                continue
            changed = await self.store.advance(
                request.id,
                Stage.SUBMITTED,
                stage=Stage.DONE if final else Stage.SUBMITTED,
                mde_status=status,
            )
            if changed is None:
                return await self._known(request.id)
            request = changed
            await self._audit(AuditKind.ACTION_STATUS, request, None)
            await self.on_change(request)
        return request

    # ------------------------------------------------------------------ helpers

    def _check_enabled(self) -> None:
        if not self.enabled:
            raise NotAllowed(
                "response actions are off here", hint="the team that runs the bot can turn them on"
            )

    def _client(self, tenant: str) -> MdeClient:
        client = self.clients.get(tenant)
        if client is None:
            raise InputError(f"no tenant called {tenant!r}", hint="run the lookup again")
        return client

    async def _known(self, request_id: str) -> ActionRequest:
        request = await self.store.get(request_id)
        if request is None:
            raise InputError("this request is unknown here", hint="ask for the action again")
        return request

    async def _waiting(self, request_id: str, asker: Asker) -> ActionRequest:
        """The request, if it still waits for a decision; expired on the way when too late."""
        self._check_enabled()
        request = await self._known(request_id)
        if request.stage is not Stage.AWAITING:
            raise InputError(f"this request is {self._said(request)}")
        if request.expires is not None and self._clock() >= request.expires:
            expired = await self.store.advance(request_id, Stage.AWAITING, stage=Stage.EXPIRED)
            if expired is not None:
                await self._audit(AuditKind.ACTION_REJECTED, expired, None)
                await self.on_change(expired)
            raise InputError("this request has expired", hint="ask for the action again")
        return request

    async def _already(self, request_id: str) -> ActionRequest:
        request = await self._known(request_id)
        raise InputError(f"this request is {self._said(request)}")

    @staticmethod
    def _said(request: ActionRequest) -> str:
        by = f" by {mention(request.approver)}" if request.approver else ""
        if request.stage in {Stage.SUBMITTING, Stage.SUBMITTED, Stage.DONE} and request.approver:
            return f"already approved{by}"
        if request.stage is Stage.REJECTED:
            return f"already rejected{by}"
        return f"already {request.stage}"

    async def _audit(self, kind: AuditKind, request: ActionRequest, asker: Asker | None) -> None:
        actor = Actor(asker.user, asker.team) if asker else Actor()
        await self.audit.append(
            kind,
            actor=actor,
            place=Place(request.channel, request.thread),
            tenants=[request.tenant],
            subject=request.subject,
            details=request.audit_details(),
        )

    async def _refused(
        self, asker: Asker, channel: str, thread: str, ask: Ask, reason: str
    ) -> None:
        await self.audit.append(
            AuditKind.REFUSAL,
            actor=Actor(asker.user, asker.team),
            place=Place(channel, thread),
            tenants=[ask.tenant],
            subject=ask.subject,
            details={"request": "action", "action": str(ask.kind), "reason": reason},
        )
