"""What the Slack listeners need, built once per process (`Services.build`): the enrichment
service, access control, replies, the in-flight work, and the state the edge keeps (events
already answered, reports behind posted cards, throttles). The events already answered, the
reports and the recent lookups come from `bot.state`: shared by the replicas on Redis when
REDIS_URL is set, in the process otherwise.

Also what a listener's work runs inside (`Services.work`): tracked for a graceful shutdown, its
MDE calls counted for the user it acts for, its errors handed to the one error handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.policy import policy_from_settings
from bot.actions.service import ActionService
from bot.audit.database import DatabaseUnavailable
from bot.audit.records import Actor, AuditKind, Place
from bot.audit.store import AuditStore
from bot.cache import TtlCache
from bot.enrichment.results import CheckReport, Report
from bot.enrichment.service import EnrichmentService, ExtractionOptions
from bot.errors import Expired, InputError
from bot.logs import get_logger, note_outcome
from bot.mde.limits import Priority, Requester, requested_by
from bot.metrics import Metrics
from bot.render import Message, report_message, summary_line
from bot.settings import BotSettings
from bot.slack.access import MEMBERS_CODEC, Access, Seen, Throttle
from bot.slack.app import handle_error
from bot.slack.handover import Resumer
from bot.slack.inflight import InFlight
from bot.slack.payloads import Audience, acting_user, requester_teams
from bot.slack.replies import SLACK_RESPONSE_HOSTS, Replies
from bot.slack.requestlog import request_line
from bot.state.dedupe import Dedupe, LocalDedupe
from bot.state.pending import LocalPending, Pending
from bot.state.store import Codec, KeyValue, LocalKeyValue

if TYPE_CHECKING:
    from bot.runtime import Backend

log = get_logger(__name__)

# Bolt sends a listener's ack when its 10 ms poll sees it (it polls the ack it handed the
# listener), so work started at once would queue in front of the ack when many requests
# arrive together. Waiting 20 ms first let the acks leave: the ack p99 at 200 commands in
# flight went from 155-170 ms to 47.7 ms (make bench, section 1). Bolt offers no event to
# wait on instead.
ACK_HEADSTART = 0.02
REPORT_TTL = 3600.0  # seconds a posted card's buttons can still expand it
# How long an answer can still be delivered: a slash command's response URL lives 30 minutes
# (and an enrichment later than that is stale news). MDE calls still waiting for budget then
# are not sent.
ANSWER_LIFETIME = 1800.0
# Work whose estimated wait for MDE's call budget is longer than this many of MDE's rate
# windows (20 minutes) is trimmed or refused up front: the estimate can be off (by up to 1.9x
# in `make bench`), the answer's lifetime cannot.
ADMISSION_WINDOWS = 20
# Auto-enrichment refused for want of call budget says so at most once per channel this often.
BUSY_NOTE_EVERY = 600.0
# OCSF files: one per card and device (a second click points at the first), and at most this
# many per user in this many seconds.
UPLOADS_PER_USER = (5, 600.0)
# The App Home tab: each user's last lookups (kept a day, for this many users), and the
# connections' status, tested at most this often however many people open the tab.
RECENT_PER_USER = 5
RECENT_USERS = 5000
RECENT_TTL = 86400.0
STATUS_TTL = 300.0
MAX_REPORTS = 500  # reports behind cards one replica keeps by itself (Redis down, or none)


@dataclass(frozen=True, slots=True)
class PostedReport:
    """A report behind a posted card, and who can see that card."""

    report: Report
    audience: Audience


@dataclass(frozen=True, slots=True)
class RecentLookup:
    """A lookup answered for someone, as their App Home lists it."""

    at: int  # epoch ms
    summary: str  # the answer's headline
    channel: str | None
    private: bool  # shown to them alone


# How reports and recent lookups are written to Redis. A device's `unmapped` and `current`
# fields are kept out of OCSF output but shape the card: written too (`excluded`).
REPORT_CODEC = Codec.of(PostedReport, excluded=True)
RECENT_CODEC: Codec[tuple[RecentLookup, ...]] = Codec.of(tuple[RecentLookup, ...])


@dataclass(frozen=True, slots=True)
class Services:
    """What listeners need, handed to the registrar. Built once per process."""

    enrichment: EnrichmentService
    settings: BotSettings
    access: Access
    replies: Replies
    actions: ActionService
    audit: AuditStore
    seen: Dedupe = field(default_factory=LocalDedupe)
    uploads: Seen = field(default_factory=lambda: Seen(ttl=REPORT_TTL, max_entries=5000))
    busy_notes: Throttle = field(default_factory=lambda: Throttle(1, BUSY_NOTE_EVERY))
    upload_quota: Throttle = field(default_factory=lambda: Throttle(*UPLOADS_PER_USER))
    inflight: InFlight = field(default_factory=InFlight)
    # Acknowledged work another replica finishes if this one dies, and how each kind resumes
    # (the handlers register theirs).
    pending: Pending = field(default_factory=LocalPending)
    resumers: dict[str, Resumer] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    # Posted reports, by the opaque id their buttons carry.
    reports: KeyValue[PostedReport] = field(
        default_factory=lambda: LocalKeyValue(max_entries=MAX_REPORTS)
    )
    # Each user's last lookups, newest first, for their App Home.
    recent: KeyValue[tuple[RecentLookup, ...]] = field(
        default_factory=lambda: LocalKeyValue(max_entries=RECENT_USERS)
    )
    # The connections' last test, shared by everyone who opens the App Home meanwhile.
    status: TtlCache[tuple[CheckReport, int]] = field(
        default_factory=lambda: TtlCache(ttl=STATUS_TTL, max_entries=1)
    )

    @contextlib.asynccontextmanager
    async def work(
        self,
        body: Mapping[str, Any],
        client: AsyncWebClient,
        *,
        after_ack: bool = True,
        priority: Priority = Priority.COMMAND,
    ) -> AsyncIterator[None]:
        """Around a listener's work after its ack: tracked for a graceful shutdown, its MDE
        calls counted for the user it acts for (at `priority`, until the answer's lifetime
        ends), and any error handed to the app's one error handler here (Bolt loses the ack of
        a listener that fails within milliseconds of acking, so errors must not escape it)."""
        deadline = time.monotonic() + ANSWER_LIFETIME
        requester = Requester(acting_user(body) or "", priority, deadline)
        async with self.inflight.track():
            with request_line(body, self.metrics) as line:  # its log line, its reply counted
                try:
                    if after_ack:  # events are acked by Bolt before the listener even starts
                        await asyncio.sleep(ACK_HEADSTART)
                    with requested_by(requester):
                        yield
                # Not swallowed: every error goes to the one error handler, which logs unknown
                # ones with their traceback and a reference id.
                except Exception as error:  # noqa: BLE001
                    line.failed(error)
                    await handle_error(error, body, self.replies, client)

    @property
    def admission_horizon(self) -> float:
        """The longest estimated wait for call budget that work is admitted with (seconds)."""
        return ADMISSION_WINDOWS * self.settings.mde_rate_window

    async def answer(
        self, report: Report, audience: Audience, *, by: str | None, expand: bool = False
    ) -> Message:
        """The card for a lookup answered to `audience`: kept for its buttons (`remember`),
        offering "Respond…" when response actions are on."""
        report_id = await self.remember(report, audience, by=by)
        note_outcome("answered" if report.worth_posting else "nothing_found")
        return report_message(
            report, report_id=report_id, expand=expand, respond=self.actions.enabled
        )

    async def remember(self, report: Report, audience: Audience, *, by: str | None) -> str:
        """Keep a report posted to `audience` for its buttons, among the recent lookups of the
        user it answered (`by`), and in the audit trail; returns the opaque id the buttons
        carry. Only a click from that audience gets it back (`recall`)."""
        report_id = secrets.token_hex(8)
        await self.reports.put(report_id, PostedReport(report, audience), REPORT_TTL)
        if by:
            private = audience.reader is not None
            lookup = RecentLookup(report.at or 0, summary_line(report), audience.channel, private)
            earlier = await self.recent.get(by) or ()
            await self.recent.put(by, (lookup, *earlier)[:RECENT_PER_USER], RECENT_TTL)
        self.inflight.spawn(self.audit_lookup(report, audience, by=by))
        return report_id

    async def audit_lookup(self, report: Report, audience: Audience, *, by: str | None) -> None:
        """One record: who asked, where, which indicators in which tenants, what was found."""
        found = {
            "devices": sum(len(c.devices) + c.more_devices for c in report.connectors),
            "alerts": len(
                {f.finding_info.uid for c in report.connectors for f in c.all_findings()}
            ),
            "files": sum(len(c.files) for c in report.connectors),
            "not_searched": [c.alias for c in report.not_searched],
        }
        try:
            await self.audit.append(
                AuditKind.LOOKUP,
                actor=Actor(by or ""),
                place=Place(audience.channel or ""),
                tenants=[c.alias for c in report.connectors],
                subject=_subject(report),
                details={
                    "indicators": [f"{i.type}:{i.value}" for i in report.indicators],
                    "found": found,
                    "private": audience.reader is not None,
                },
            )
        except DatabaseUnavailable as exc:  # the answer is posted; the gap is logged loudly
            self.metrics.database_error()
            log.error("audit_lookup_lost", error=exc.message, user=by)

    async def audit_refusal(
        self,
        body: Mapping[str, Any],
        request: str,
        reason: str,
        *,
        place: Place | None = None,
        tenants: Sequence[str] = (),
        subject: str = "",
    ) -> None:
        """One record for a request the bot refused (access, call budget, input, policy): who,
        from which workspace, where (a form's channel and thread, which its payload lacks),
        and on what."""
        team = next(iter(sorted(requester_teams(body))), "")
        try:
            await self.audit.append(
                AuditKind.REFUSAL,
                actor=Actor(acting_user(body) or "", team),
                place=place or Place(str(body.get("channel_id") or "")),
                tenants=list(tenants),
                subject=subject,
                details={"request": request, "reason": reason},
            )
        except DatabaseUnavailable as exc:
            log.error("audit_refusal_lost", error=exc.message)

    async def connection_status(self) -> tuple[CheckReport, int]:
        """The connections' test and when it ran (epoch ms), at most STATUS_TTL old; one test
        for concurrent callers."""

        async def test() -> tuple[CheckReport, int]:
            return await self.enrichment.check(), int(time.time() * 1000)

        return await self.status.get_or_load("check", test)

    async def recall(self, report_id: str, *, channel: str | None, user: str | None) -> Report:
        """The report a card's button names, for a click by `user` in `channel`."""
        posted = await self.reports.get(report_id)
        if posted is None:
            raise Expired("this card has expired", hint="paste the indicators again")
        if not posted.audience.admits(channel, user):
            raise InputError("this card was not posted here", hint="run the lookup again")
        return posted.report

    @classmethod
    def build(
        cls, backend: Backend, settings: BotSettings, *, slack_api_url: str | None = None
    ) -> Services:
        """`slack_api_url`: where the Web API lives; a stand-in's host may then receive
        response_url posts too (Slack's own host always may)."""
        options = ExtractionOptions(tuple(settings.internal_domains), settings.max_indicators)
        enrichment = EnrichmentService(
            backend.clients,
            demo=backend.demo,
            extraction=options,
            responding=settings.actions != "off",
        )
        hosts = set(SLACK_RESPONSE_HOSTS)
        if slack_api_url and (host := urlsplit(slack_api_url).hostname) != "slack.com" and host:
            hosts.add(host)
        replies = Replies(backend.session, hosts=frozenset(hosts))
        actions = ActionService(
            {c.alias: c for c in backend.clients},
            policy_from_settings(settings),
            backend.audit,
            store=backend.actions,
            leases=backend.state.leases("follow"),
            mode=settings.actions,
            poll_first=settings.action_poll_seconds,
        )
        state = backend.state
        return cls(
            enrichment,
            settings,
            Access(settings, members=state.key_value("usergroups", MEMBERS_CODEC)),
            replies,
            actions,
            backend.audit,
            seen=state.dedupe("deliveries"),
            reports=state.key_value("reports", REPORT_CODEC, max_entries=MAX_REPORTS),
            recent=state.key_value("recent", RECENT_CODEC, max_entries=RECENT_USERS),
            metrics=backend.metrics,
            pending=state.pending("work"),
        )


def _subject(report: Report) -> str:
    """What a lookup was about: its indicators, or (a device's view) the devices it shows."""
    if report.indicators:
        return ", ".join(i.value for i in report.indicators)
    return ", ".join(d.device.uid or "" for c in report.connectors for d in c.devices)
