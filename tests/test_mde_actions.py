"""Response actions through the bot's own client (`bot.mde.actions`), against the simulator over
real HTTPS with real tokens, on a clock the test holds: the bodies MDE receives, lifecycles,
MDE's refusals in our words, writes that are never retried once they may have taken effect, and
how the caller finds out whether an unconfirmed one did."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from bot.demo.backend import simulator_connectors
from bot.demo.simulator import (
    ALL_READ_ROLES,
    REQUIRED_ROLES,
    AppRegistration,
    Fault,
    ManualClock,
    Simulator,
)
from bot.demo.simulator import data as d
from bot.demo.simulator.probe import Probe
from bot.errors import (
    InputError,
    MdeActionPending,
    MdeBadRequest,
    MdeForbidden,
    MdeNotFound,
    MdeNotSupported,
    MdePackageNotReady,
    MdeRateLimited,
    MdeUnavailable,
    MdeUnconfirmed,
)
from bot.indicators import IndicatorType
from bot.mde import actions, lookups
from bot.mde.actions import ACTION_ROLES, MACHINE_ACTION_TYPES, ActionKind
from bot.mde.auth import TokenProvider
from bot.mde.client import PACKAGE_URI_WINDOWS, MdeClient, tls_context
from bot.mde.limits import Budget
from bot.mde.models import ActionStatus, MachineAction
from bot.retry import RetryPolicy
from bot.settings import ConnectorSettings

MARKER = "[mde-bot 3f2a9c1e]"
COMMENT = f"Contain ws-fin-042 (INC-1042) {MARKER}"
DEVICE = d.DEMO_MACHINE_ID
UNKNOWN_DEVICE = "0" * 40
UNKNOWN_ACTION = "00000000-0000-4000-8000-000000000000"
DOC_SCAN_ID = "2e9da30d-27f6-4208-81f2-9cd3d67893ba"  # a documented, finished scan
READER = "0b9f6a3e-2c4d-4e8f-9a1b-3c5d7e9f1a2b"  # an app registration with read roles only
READER_SECRET = "reader-secret-value"
TIMEOUT = 1.0  # seconds per call: short, for the tests that hang


class Recorder:
    """What the client put on the wire: (method, path, JSON body) of each request with one."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_chunk_sent.append(self._chunk)

    async def _chunk(
        self,
        _: aiohttp.ClientSession,
        __: SimpleNamespace,
        sent: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        if sent.chunk:
            self.sent.append((sent.method, sent.url.path, json.loads(sent.chunk)))


@contextlib.asynccontextmanager
async def open_client(
    sim: Simulator,
    *,
    app: AppRegistration | None = None,
    recorder: Recorder | None = None,
    package_budget: Budget | None = None,
    api_url: str | None = None,
) -> AsyncIterator[MdeClient]:
    """A contoso client as the bot builds one, as the demo app or as `app` (its API at
    `api_url`, if given), with quick retries."""
    base = next(c for c in simulator_connectors(sim) if c.alias == "contoso")
    values = base.model_dump() | ({"api_url": api_url} if api_url else {})
    if app is not None:
        sim.register(app)
        values |= {"client_id": app.client_id, "client_secret": app.secret}
    connector = ConnectorSettings.model_validate(values)
    traces = [recorder.trace] if recorder is not None else None
    async with aiohttp.ClientSession(trace_configs=traces) as session:
        client = MdeClient(
            connector,
            session,
            TokenProvider(connector),
            ssl_context=await asyncio.to_thread(tls_context, connector),
            package_budget=package_budget,
            retry=RetryPolicy(base=0.01),
            timeout=TIMEOUT,
        )
        try:
            yield client
        finally:
            await client.close()
            client.tokens.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(clock=clock) as simulator:
        yield simulator


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[MdeClient]:
    async with open_client(sim) as opened:
        yield opened


def device_on(sim: Simulator, platform: str) -> str:
    """The id of an Active, onboarded contoso device on `platform`."""
    return str(
        next(
            m["id"]
            for m in sim.tenant("contoso").machines
            if m.get("osPlatform") == platform
            and m.get("healthStatus") == "Active"
            and m.get("onboardingStatus") == "Onboarded"
        )
    )


Act = Callable[[MdeClient], Awaitable[MachineAction]]
# name: (the call, the simulator's endpoint, the body MDE must receive, type, scope)
MACHINE_ACTIONS: dict[str, tuple[Act, str, dict[str, str], str, str | None]] = {
    "isolate full": (
        lambda c: actions.isolate(c, DEVICE, comment=COMMENT, selective=False),
        "isolate", {"Comment": COMMENT, "IsolationType": "Full"}, "Isolate", "Full",
    ),
    "isolate selective": (
        lambda c: actions.isolate(c, DEVICE, comment=COMMENT, selective=True),
        "isolate", {"Comment": COMMENT, "IsolationType": "Selective"}, "Isolate", "Selective",
    ),
    "release": (
        lambda c: actions.release(c, DEVICE, comment=COMMENT),
        "unisolate", {"Comment": COMMENT}, "Unisolate", None,
    ),
    "quick scan": (
        lambda c: actions.av_scan(c, DEVICE, comment=COMMENT, full=False),
        "av_scan", {"Comment": COMMENT, "ScanType": "Quick"}, "RunAntiVirusScan", "Quick",
    ),
    "full scan": (
        lambda c: actions.av_scan(c, DEVICE, comment=COMMENT, full=True),
        "av_scan", {"Comment": COMMENT, "ScanType": "Full"}, "RunAntiVirusScan", "Full",
    ),
    "collect": (
        lambda c: actions.collect_package(c, DEVICE, comment=COMMENT),
        "collect_package", {"Comment": COMMENT}, "CollectInvestigationPackage", None,
    ),
    "restrict": (
        lambda c: actions.restrict(c, DEVICE, comment=COMMENT),
        "restrict", {"Comment": COMMENT}, "RestrictCodeExecution", None,
    ),
    "unrestrict": (
        lambda c: actions.unrestrict(c, DEVICE, comment=COMMENT),
        "unrestrict", {"Comment": COMMENT}, "UnrestrictCodeExecution", None,
    ),
    "quarantine": (
        lambda c: actions.stop_and_quarantine(
            c, DEVICE, comment=COMMENT, sha1=d.DEMO_SHA1.upper()
        ),
        "quarantine_file", {"Comment": COMMENT, "Sha1": d.DEMO_SHA1}, "StopAndQuarantineFile",
        None,
    ),
}  # fmt: skip


async def isolate(client: MdeClient, machine_id: str = DEVICE) -> MachineAction:
    return await actions.isolate(client, machine_id, comment=COMMENT, selective=False)


# ------------------------------------------------------------------------------ machine actions


@pytest.mark.parametrize("name", sorted(MACHINE_ACTIONS))
async def test_each_action_reaches_mde_with_the_documented_body(
    sim: Simulator, client: MdeClient, name: str
) -> None:
    call, endpoint, body, kind, scope = MACHINE_ACTIONS[name]

    action = await call(client)

    [record] = sim.actions
    assert (record.action_id, record.machine_id, record.type) == (action.id, DEVICE, kind)
    assert dict(record.body) == body
    assert sim.calls[endpoint] == 1
    assert action.status is ActionStatus.PENDING
    assert (action.type, action.scope, action.machine_id) == (kind, scope, DEVICE)
    assert action.requestor_comment == COMMENT
    assert action.computer_dns_name == d.DEMO_HOST
    if name == "quarantine":
        assert action.related_file_info is not None
        assert action.related_file_info.file_identifier == d.DEMO_SHA1


async def test_an_action_is_polled_through_its_lifecycle_on_the_clock(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    created = await isolate(client)
    seen = [await actions.machine_action(client, created.id)]
    clock.advance(sim.knobs.action_pickup)
    seen.append(await actions.machine_action(client, created.id))
    clock.advance(sim.knobs.action_run)
    seen.append(await actions.machine_action(client, created.id))

    assert [a.status for a in seen] == [
        ActionStatus.PENDING,
        ActionStatus.IN_PROGRESS,
        ActionStatus.SUCCEEDED,
    ]
    assert [a.final for a in seen] == [False, False, True]
    updated = [a.last_update_date_time_utc for a in seen]
    assert updated[0] is not None
    assert updated[2] is not None
    assert updated[2] - updated[0] == timedelta(seconds=5)
    assert sim.calls["machine_action"] == 3  # polled: never answered from the cache
    assert sim.device_state(DEVICE).isolated


async def test_a_device_that_does_not_report_times_out(sim: Simulator, client: MdeClient) -> None:
    """A final status other than Succeeded: TimeOut, when the device never picks it up."""
    quiet = next(
        m["id"]
        for m in sim.tenant("contoso").machines
        if m.get("osPlatform") == "Windows11" and m.get("healthStatus") == "Inactive"
    )
    created = await actions.av_scan(client, str(quiet), comment=COMMENT, full=False)
    assert isinstance(sim.clock, ManualClock)
    sim.clock.advance(sim.knobs.action_timeout)

    final = await actions.machine_action(client, created.id)

    assert final.status is ActionStatus.TIMEOUT
    assert final.final


async def test_the_documented_actions_read_with_their_misspelled_update_time(
    client: MdeClient,
) -> None:
    action = await actions.machine_action(client, DOC_SCAN_ID)

    assert action.status is ActionStatus.SUCCEEDED
    assert action.last_update_date_time_utc is not None
    assert actions.kind_of(action) is ActionKind.SCAN


async def test_a_device_lists_its_actions_newest_first_never_cached(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    first = await actions.av_scan(client, DEVICE, comment=COMMENT, full=False)
    clock.advance(1)
    second = await isolate(client)

    listed = await actions.machine_actions(client, DEVICE)
    again = await actions.machine_actions(client, DEVICE, top=1)

    assert [a.id for a in listed] == [second.id, first.id]
    assert [a.id for a in again] == [second.id]
    assert sim.calls["machine_actions"] == 2


async def test_already_in_progress_is_pending_and_creates_nothing(
    sim: Simulator, client: MdeClient
) -> None:
    await isolate(client)

    with pytest.raises(MdeActionPending) as caught:
        await actions.release(client, DEVICE, comment=COMMENT)

    assert caught.value.code == "ActiveRequestAlreadyExists"
    assert caught.value.detail == "Action is already in progress"
    assert caught.value.message.startswith("an action of this kind is already running on device")
    assert caught.value.hint
    assert len(sim.actions) == 1
    assert sim.calls["unisolate"] == 1  # refused once, never sent again


async def test_an_os_that_cannot_run_the_action_is_not_supported(
    sim: Simulator, client: MdeClient
) -> None:
    mac = device_on(sim, "macOS")

    with pytest.raises(MdeNotSupported) as caught:
        await isolate(client, mac)

    assert caught.value.code == "OsPlatformNotSupported"
    assert caught.value.message == f"device {mac} cannot run this action (its operating system)"
    assert "macOS" in caught.value.detail
    assert sim.actions == []


async def test_unknown_device_and_unknown_action_are_not_found(client: MdeClient) -> None:
    with pytest.raises(MdeNotFound) as device:
        await isolate(client, UNKNOWN_DEVICE)
    with pytest.raises(MdeNotFound) as action:
        await actions.machine_action(client, UNKNOWN_ACTION)

    assert device.value.message == f"MDE knows no device {UNKNOWN_DEVICE}"
    assert action.value.message == f"MDE knows no machine action {UNKNOWN_ACTION}"


async def test_a_missing_role_is_named(sim: Simulator) -> None:
    reader = AppRegistration(READER, READER_SECRET, d.CONTOSO_TENANT, roles=ALL_READ_ROLES)
    async with open_client(sim, app=reader) as client:
        with pytest.raises(MdeForbidden) as isolating:
            await isolate(client)
        with pytest.raises(MdeForbidden) as tagging:
            await actions.set_tag(client, DEVICE, value="contained", add=True)

    assert isolating.value.message == "the app lacks Machine.Isolate"
    assert isolating.value.missing_roles == ("Machine.Isolate",)
    assert "grant Machine.Isolate" in isolating.value.hint
    assert tagging.value.missing_roles == ("Machine.ReadWrite.All",)
    assert sim.actions == []


async def test_cancel_a_running_action_then_not_a_finished_one(
    sim: Simulator, client: MdeClient
) -> None:
    created = await actions.collect_package(client, DEVICE, comment=COMMENT)

    cancelled = await actions.cancel(client, created.id, comment=f"not needed {MARKER}")
    with pytest.raises(MdeBadRequest) as again:
        await actions.cancel(client, created.id, comment="again")
    with pytest.raises(MdeNotFound):
        await actions.cancel(client, UNKNOWN_ACTION, comment="none")

    assert cancelled.status is ActionStatus.CANCELLED
    assert cancelled.cancellation_comment == f"not needed {MARKER}"
    assert cancelled.cancellation_date_time_utc is not None
    assert again.value.message.startswith(f"MDE would not cancel machine action {created.id}")
    assert "Cancelled" in again.value.detail
    assert (await actions.machine_action(client, created.id)).status is ActionStatus.CANCELLED


# ------------------------------------------------------------------------------ unconfirmed


async def test_applied_then_5xx_is_unconfirmed_and_found_by_its_marker(
    sim: Simulator, client: MdeClient
) -> None:
    sim.force(Fault(500, applied=True, endpoint="isolate"))

    with pytest.raises(MdeUnconfirmed) as caught:
        await isolate(client)
    found = await actions.find_request(client, DEVICE, marker=MARKER)

    assert caught.value.status == 500
    assert not caught.value.accepted
    assert caught.value.message == (
        "MDE answered 500: the request may or may not have been carried out"
    )
    assert sim.calls["isolate"] == 1  # never sent twice
    [record] = sim.actions
    assert found is not None
    assert found.id == record.action_id
    assert found.requestor_comment == COMMENT


async def test_5xx_before_applying_is_unconfirmed_and_nothing_is_found(
    sim: Simulator, client: MdeClient
) -> None:
    """A POST that MDE answers 500 is not retried, whatever MDE did; here it did nothing."""
    sim.force(Fault(500, endpoint="isolate"))

    with pytest.raises(MdeUnconfirmed):
        await isolate(client)

    assert sim.calls["isolate"] == 1
    assert sim.actions == []
    assert await actions.find_request(client, DEVICE, marker=MARKER) is None


async def test_a_timeout_after_mde_acted_is_unconfirmed(sim: Simulator, client: MdeClient) -> None:
    sim.force(Fault(500, applied=True, hang=5, endpoint="isolate"))
    started = time.monotonic()

    with pytest.raises(MdeUnconfirmed) as caught:
        await isolate(client)

    assert time.monotonic() - started < TIMEOUT + 2
    assert caught.value.status is None
    assert caught.value.message.startswith(f"MDE did not answer within {TIMEOUT:g} s: ")
    assert sim.calls["isolate"] == 1
    assert await actions.find_request(client, DEVICE, marker=MARKER) is not None


async def test_an_answer_that_cannot_be_read_is_unconfirmed(
    sim: Simulator, client: MdeClient
) -> None:
    """MDE said 200, but with no machine action in it: what it did cannot be known."""
    sim.force(Fault(oversize=64, endpoint="isolate"))

    with pytest.raises(MdeUnconfirmed) as caught:
        await isolate(client)

    assert caught.value.accepted
    assert caught.value.message == "MDE accepted the request, but its answer could not be read"
    assert sim.calls["isolate"] == 1


async def test_a_write_whose_connection_cannot_be_made_is_retried_it_never_left(
    sim: Simulator,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    async with open_client(sim, api_url=f"https://127.0.0.1:{port}") as client:
        with pytest.raises(MdeUnavailable) as caught:
            await isolate(client)

    assert caught.value.message == "cannot reach the MDE API"
    assert client.calls == RetryPolicy().attempts


async def test_find_request_looks_only_since_when_asked(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    sent = clock()
    await isolate(client)

    found = await actions.find_request(client, DEVICE, marker=MARKER, since=sent)
    later = await actions.find_request(
        client, DEVICE, marker=MARKER, since=sent + timedelta(hours=1)
    )
    other = await actions.find_request(client, DEVICE, marker="[mde-bot 00000000]", since=sent)

    assert found is not None
    assert later is None
    assert other is None
    with pytest.raises(InputError):
        await actions.find_request(client, DEVICE, marker=" ")
    with pytest.raises(InputError):
        await actions.find_request(client, DEVICE, marker=MARKER, since=datetime(2026, 1, 1))


async def test_a_429_on_a_write_waits_then_succeeds(sim: Simulator, client: MdeClient) -> None:
    await client.tokens.token()
    sim.force(Fault(429, retry_after=1, endpoint="isolate"))
    started = time.monotonic()

    action = await isolate(client)

    assert time.monotonic() - started >= 1.0
    assert sim.calls["isolate"] == 2
    assert [r.action_id for r in sim.actions] == [action.id]


async def test_a_401_on_a_write_signs_in_again_once(sim: Simulator, client: MdeClient) -> None:
    await client.tokens.token()
    sim.revoke_tokens()

    action = await isolate(client)

    assert sim.calls["isolate"] == 2
    assert [r.action_id for r in sim.actions] == [action.id]


async def test_a_write_clears_the_cache_a_refused_one_does_not(
    sim: Simulator, client: MdeClient
) -> None:
    before = await lookups.device(client, DEVICE)
    await lookups.device(client, DEVICE)
    with pytest.raises(InputError):
        await actions.set_tag(client, DEVICE, value=" ", add=True)
    await lookups.device(client, DEVICE)
    assert sim.calls["machine"] == 1

    await actions.set_tag(client, DEVICE, value="contained", add=True)
    after = await lookups.device(client, DEVICE)

    assert sim.calls["machine"] == 2
    assert "contained" not in before.machine_tags
    assert "contained" in after.machine_tags


# ------------------------------------------------------------------------------ packages


async def test_the_package_link_before_and_after_the_collection_never_logged(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    sim.knobs.quote_package_uri = True  # as Microsoft's example answers
    with capture_logs() as logs:
        created = await actions.collect_package(client, DEVICE, comment=COMMENT)
        with pytest.raises(MdePackageNotReady) as early:
            await actions.package_uri(client, created.id)
        clock.advance(sim.knobs.action_pickup + sim.knobs.action_run)
        link = await actions.package_uri(client, created.id)
    async with Probe.open(sim) as probe:
        status, content = await probe.download(link)

    assert early.value.message == (
        f"the investigation package is not ready: collection {created.id} is Pending"
    )
    assert sim.calls["package_uri"] == 1  # asking early cost none of its 2 a minute
    assert link.startswith(f"{sim.base_url}/safedownload/WDATP_Investigation_Package.zip?token=")
    assert status == 200
    assert "README.txt" in zipfile.ZipFile(io.BytesIO(content)).namelist()
    token = link.split("token=")[1]
    assert [e["event"] for e in logs if e["event"].startswith("mde_package")] == [
        "mde_package_link"
    ]
    assert token not in repr(logs)


async def test_mde_s_404_for_the_link_is_explained(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    created = await actions.collect_package(client, DEVICE, comment=COMMENT)
    clock.advance(sim.knobs.action_pickup + sim.knobs.action_run)
    sim.force(Fault(404, endpoint="package_uri"))

    with pytest.raises(MdePackageNotReady) as caught:
        await actions.package_uri(client, created.id)

    assert caught.value.message.endswith("has not succeeded yet")
    assert caught.value.hint.startswith("MDE gives the link once the collection has succeeded")


async def test_a_failed_collection_or_another_action_has_no_package(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    sim.knobs.action_outcomes["CollectInvestigationPackage"] = "Failed"
    failed = await actions.collect_package(client, DEVICE, comment=COMMENT)
    clock.advance(60)

    with pytest.raises(MdePackageNotReady) as ended:
        await actions.package_uri(client, failed.id)
    with pytest.raises(InputError):
        await actions.package_uri(client, DOC_SCAN_ID)

    assert ended.value.message == f"collection {failed.id} ended Failed: it has no package"
    assert sim.calls["package_uri"] == 0


async def test_the_link_s_own_limit_refuses_at_once_until_its_window_reopens(
    sim: Simulator, clock: ManualClock
) -> None:
    """Two links a minute: the third is refused with the wait, not sent, not queued; on the
    injected clock, a minute (and the guard band) later it goes."""
    now = [0.0]
    budget = Budget(PACKAGE_URI_WINDOWS, clock=lambda: now[0])
    async with open_client(sim, package_budget=budget) as client:
        created = await actions.collect_package(client, DEVICE, comment=COMMENT)
        clock.advance(60)
        links = [await actions.package_uri(client, created.id) for _ in range(2)]
        async with asyncio.timeout(5):  # refused at once: a queued call would wait here
            with pytest.raises(MdeRateLimited) as refused:
                await actions.package_uri(client, created.id)
        assert sim.calls["package_uri"] == 2
        now[0] += refused.value.retry_after
        clock.advance(refused.value.retry_after)
        later = await actions.package_uri(client, created.id)

    assert len({*links, later}) == 3
    assert 60 < refused.value.retry_after <= 63
    assert refused.value.hint.startswith("MDE gives at most 2 package links a minute")
    assert sim.calls["package_uri"] == 3
    assert sim.calls["429"] == 0


async def test_mde_s_429_on_the_link_pauses_only_the_link(
    sim: Simulator, client: MdeClient, clock: ManualClock
) -> None:
    created = await actions.collect_package(client, DEVICE, comment=COMMENT)
    clock.advance(60)
    sim.force(Fault(429, retry_after=20, endpoint="package_uri"))

    with pytest.raises(MdeRateLimited) as caught:
        await actions.package_uri(client, created.id)

    assert caught.value.retry_after == 20
    assert sim.calls["package_uri"] == 1  # reported, not retried
    assert client.queue_delay() == 0  # lookups and other actions go on
    assert client.package_budget.delay() >= 19


# ------------------------------------------------------------------------------ tags and alerts


async def test_tags_are_added_and_removed(sim: Simulator) -> None:
    recorder = Recorder()
    async with open_client(sim, recorder=recorder) as client:
        added = await actions.set_tag(client, DEVICE, value="Contained INC-1042", add=True)
        has = await actions.device_has_tag(client, DEVICE, "contained inc-1042")
        removed = await actions.set_tag(client, DEVICE, value="Contained INC-1042", add=False)
        gone = await actions.device_has_tag(client, DEVICE, "Contained INC-1042")

    assert "Contained INC-1042" in added.machine_tags
    assert "Contained INC-1042" not in removed.machine_tags
    assert (has, gone) == (True, False)
    path = f"/api/machines/{DEVICE}/tags"
    assert recorder.sent == [
        ("POST", path, {"Value": "Contained INC-1042", "Action": "Add"}),
        ("POST", path, {"Value": "Contained INC-1042", "Action": "Remove"}),
    ]


async def test_alert_triage_sends_only_the_fields_given(sim: Simulator) -> None:
    alert_id = d.DEMO_ALERT_IDS[0]
    recorder = Recorder()
    async with open_client(sim, recorder=recorder) as client:
        assigned = await actions.update_alert(client, alert_id, assigned_to="ir-lead@contoso.com")
        triaged = await actions.update_alert(
            client,
            alert_id,
            status="Resolved",
            classification="TruePositive",
            determination="Malware",
            comment=f"Contained {MARKER}",
        )
        note = await actions.find_alert_comment(client, alert_id, marker=MARKER)
        with pytest.raises(InputError):
            await actions.update_alert(client, alert_id)
        with pytest.raises(InputError):
            await actions.update_alert(client, alert_id, status="Closed")

    path = f"/api/alerts/{alert_id}"
    assert recorder.sent == [
        ("PATCH", path, {"assignedTo": "ir-lead@contoso.com"}),
        (
            "PATCH",
            path,
            {
                "status": "Resolved",
                "classification": "TruePositive",
                "determination": "Malware",
                "comment": f"Contained {MARKER}",
            },
        ),
    ]
    assert assigned.assigned_to == "ir-lead@contoso.com"
    assert assigned.status != "Resolved"
    assert (triaged.status, triaged.classification) == ("Resolved", "TruePositive")
    assert note is not None
    assert note.comment == f"Contained {MARKER}"


async def test_an_unknown_alert_is_not_found(client: MdeClient) -> None:
    with pytest.raises(MdeNotFound) as caught:
        await actions.update_alert(client, "da000000000000000000_0", comment="c")

    assert caught.value.message == "MDE knows no alert da000000000000000000_0"


# ------------------------------------------------------------------------------ indicators


NEW_SHA256 = "a" * 64


async def test_an_indicator_is_submitted_listed_found_and_deleted(sim: Simulator) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    recorder = Recorder()
    async with open_client(sim, recorder=recorder) as client:
        created = await actions.submit_indicator(
            client,
            value=NEW_SHA256.upper(),
            kind=IndicatorType.SHA256,
            action="Block",
            title="INC-1042 payload",
            description=f"Blocked from Slack {MARKER}",
            expires=expires,
            severity="High",
        )
        listed = await actions.custom_indicators(client, [NEW_SHA256, d.DEMO_SHA256])
        found = await actions.find_indicator(client, value=NEW_SHA256, kind=IndicatorType.SHA256)
        await actions.delete_indicator(client, created.id)
        after = await actions.find_indicator(client, value=NEW_SHA256, kind=IndicatorType.SHA256)
        with pytest.raises(MdeNotFound) as again:
            await actions.delete_indicator(client, created.id)

    assert recorder.sent[0] == (
        "POST",
        "/api/indicators",
        {
            "indicatorValue": NEW_SHA256,
            "indicatorType": "FileSha256",
            "action": "Block",
            "title": "INC-1042 payload",
            "description": f"Blocked from Slack {MARKER}",
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "severity": "High",
        },
    )
    assert (created.indicator_type, created.action, created.severity) == (
        "FileSha256",
        "Block",
        "High",
    )
    assert created.expiration_time is not None
    assert {i.indicator_value for i in listed} == {NEW_SHA256, d.DEMO_SHA256}
    seeded = next(i for i in listed if i.indicator_value == d.DEMO_SHA256)
    assert seeded.action == "BlockAndRemediate"
    assert seeded.created_by == "ir-lead@contoso.com"
    assert found is not None
    assert found.id == created.id
    assert after is None
    assert again.value.message == f"MDE knows no custom indicator {created.id}"
    assert sim.calls["indicator_delete"] == 2


async def test_submitting_a_value_again_updates_the_same_indicator(client: MdeClient) -> None:
    """Why an unconfirmed submission may be sent again: MDE updates, never duplicates."""
    expires = datetime.now(UTC) + timedelta(days=1)

    async def block(action: str) -> str:
        made = await actions.submit_indicator(
            client,
            value=d.DEMO_DOMAIN,
            kind=IndicatorType.DOMAIN,
            action=action,
            title="t",
            description="d",
            expires=expires,
            generate_alert=True,
        )
        return made.id

    first, second = await block("Block"), await block("Audit")

    assert first == second
    [held] = await actions.custom_indicators(client, [d.DEMO_DOMAIN])
    assert held.action == "Audit"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("10.1.2.3", IndicatorType.IPV4),
        ("192.168.0.7", IndicatorType.IPV4),
        ("127.0.0.1", IndicatorType.IPV4),
        ("224.0.0.1", IndicatorType.IPV4),
        ("fd00::1", IndicatorType.IPV6),
        ("::ffff:10.0.0.1", IndicatorType.IPV6),
    ],
)
async def test_a_private_ip_is_refused_before_calling_mde(
    sim: Simulator, client: MdeClient, value: str, kind: IndicatorType
) -> None:
    with pytest.raises(InputError) as caught:
        await actions.submit_indicator(
            client,
            value=value,
            kind=kind,
            action="Block",
            title="t",
            description="d",
            expires=datetime.now(UTC) + timedelta(days=1),
        )

    assert "is not a public IP address: MDE blocks public addresses only" in caught.value.message
    assert sim.calls["*"] == 0


async def test_a_public_ip_is_submitted(sim: Simulator, client: MdeClient) -> None:
    made = await actions.submit_indicator(
        client,
        value=d.DEMO_REMOTE_IP,
        kind=IndicatorType.IPV4,
        action="Block",
        title="t",
        description="d",
        expires=datetime.now(UTC) + timedelta(days=1),
    )

    assert (made.indicator_type, made.indicator_value) == ("IpAddress", d.DEMO_REMOTE_IP)


# ------------------------------------------------------------------------------ refused before MDE


Bad = Callable[[MdeClient], Awaitable[object]]
BAD_IDS: dict[str, Bad] = {
    "device ../": lambda c: actions.isolate(c, "../machines", comment="c", selective=False),
    "device ?": lambda c: actions.release(c, DEVICE + "?x", comment="c"),
    "device #": lambda c: actions.set_tag(c, DEVICE[:-1] + "#", value="t", add=True),
    "device by name": lambda c: actions.restrict(c, d.DEMO_HOST, comment="c"),
    "action ../": lambda c: actions.machine_action(c, "../machines"),
    "action ?": lambda c: actions.cancel(c, UNKNOWN_ACTION[:-1] + "?", comment="c"),
    "action #": lambda c: actions.package_uri(c, UNKNOWN_ACTION + "#"),
    "alert ../": lambda c: actions.update_alert(c, "../machines", comment="c"),
    "alert ?": lambda c: actions.update_alert(c, "da1?$top=1", comment="c"),
    "alert #": lambda c: actions.current_alert(c, "da1#x"),
    "indicator ../": lambda c: actions.delete_indicator(c, "1/../2"),
    "indicator #": lambda c: actions.delete_indicator(c, "1#"),
    "sha1 ?": lambda c: actions.stop_and_quarantine(c, DEVICE, comment="c", sha1="a?" * 20),
    "md5 for quarantine": lambda c: actions.stop_and_quarantine(
        c, DEVICE, comment="c", sha1=d.DEMO_MD5
    ),
    "empty comment": lambda c: actions.isolate(c, DEVICE, comment=" ", selective=True),
    "host name indicator": lambda c: actions.find_indicator(
        c, value="ws-fin-042", kind=IndicatorType.HOSTNAME
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_IDS))
async def test_malformed_ids_and_values_are_refused_before_any_call(
    sim: Simulator, client: MdeClient, name: str
) -> None:
    with pytest.raises(InputError):
        await BAD_IDS[name](client)

    assert sim.calls["*"] == 0


# ------------------------------------------------------------------------------ the roles table


def test_each_action_s_first_role_opens_its_simulated_endpoint() -> None:
    """The roles we name are the ones the simulator (after the reference) demands."""
    endpoints = {
        ActionKind.ISOLATE: "isolate",
        ActionKind.RELEASE: "unisolate",
        ActionKind.SCAN: "av_scan",
        ActionKind.COLLECT: "collect_package",
        ActionKind.RESTRICT: "restrict",
        ActionKind.UNRESTRICT: "unrestrict",
        ActionKind.QUARANTINE: "quarantine_file",
        ActionKind.TAG: "machine_tags",
        ActionKind.TRIAGE: "alert_update",
        ActionKind.BLOCK: "indicator_submit",
    }
    assert set(endpoints) == set(ActionKind)
    for kind, endpoint in endpoints.items():
        assert ACTION_ROLES[kind][0] in REQUIRED_ROLES[endpoint], kind
    assert set(MACHINE_ACTION_TYPES) < set(ActionKind)


def test_final_statuses() -> None:
    assert {s for s in ActionStatus if s.final} == {
        ActionStatus.SUCCEEDED,
        ActionStatus.FAILED,
        ActionStatus.TIMEOUT,
        ActionStatus.CANCELLED,
    }
    assert MachineAction.model_validate({"id": "x", "status": "Canceled"}).final
    assert not MachineAction.model_validate({"id": "x", "status": "inprogress"}).final
