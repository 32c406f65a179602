"""Section 10, actions: response actions asked for, approved and sent to MDE from Slack, against
the real bot process (BOT_ACTIONS=on, every simulated responder in BOT_RESPONDERS, some actions
needing a second responder by BOT_APPROVAL_REQUIRED), the simulator and the Slack stand-in,
over signed HTTP. Every form is opened as a responder would open it: a pasted host name's
card, its ⋯ → "Respond…", the form the bot fills in (`views.update`); every submission and
click is a signed interactivity payload. Each scenario runs against a fresh bot.

1. Confirm → MDE: N responders confirm N actions on N distinct devices at once
   (BOT_APPROVAL_REQUIRED=isolate): half approve an isolation that another responder asked
   for (a click), half submit an antivirus scan that needs no approval (a form). Measured: p99
   of (the simulator created the machine action) minus (the stand-in sent the click or the
   submission), beside the ack p99 of those same requests; the floor is the same simulator's
   action POSTs sent directly with aiohttp (warm TLS pool, a token in hand) at the same
   concurrency, on the same devices, timed the same way.
2. Exactly once under abuse: N actions needing approval (BOT_APPROVAL_REQUIRED=contain,collect;
   at full size 25 isolations and 5 each of release, scan, collect, restrict, unrestrict), each
   submitted three times at once (a double submit and a Slack retry with X-Slack-Retry-Num),
   approved four times at once (a double click and a retried click by one approver, a click by
   a second approver), and both sent once more after the action ended (late retries). The
   simulator answers 10% of the POSTs with a 500 after creating the action (`Fault(applied=
   True)`: the bot must find it rather than send again): every restriction's; and 10% with a
   500 before any effect: the first POST on each of as many other endpoints. So each fault
   falls on a distinct request, whatever the order of arrival. Counted from the simulator's
   machine actions (by the request's marker in their comment) and POSTs, the stand-in's posts
   and the bot's audit trail (read from its database, and `mde-bot audit --verify`).
3. Refusals (BOT_APPROVAL_REQUIRED=isolate): forms submitted by someone not a responder, and
   requesters approving their own requests. Counted: machine actions created (target 0) and
   refusal records in the audit.

The bot's audit database is found by giving the bot process its own TMPDIR (`open_backend`
keeps an unconfigured trail in a temporary directory): `bench.child` is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.common import Figure, SectionResult, World, ms, open_world, percentile, rounded
from bot.audit.records import AuditKind, AuditRecord
from bot.audit.store import AuditStore
from bot.demo.simulator import Fault, data
from bot.demo.simulator.knobs import DEMO_ROLES
from bot.demo.standin import clickables
from bot.render.forms import CHOICE, COMMENT
from bot.slack.buttons import ActionId, FormContext

SECTION = "10 actions"
ISOLATE, SCAN = "isolate_full", "scan_quick"  # the form's choices (bot.actions.choices)
PATHS = {ISOLATE: "isolate", SCAN: "runAntiVirusScan"}  # the simulator's paths
FAULT_SHARE = 0.10  # of the POSTs, answered 500 after taking effect; as many before
SLACK_ACK = 3.0  # seconds Slack waits for an ack
SETTLE = 120.0  # seconds for every action of a scenario to end
PREP = 10  # cards and forms opened at once while setting up (untimed)
REQUEST_ID = re.compile(r"request ([0-9a-f]{16})")
MARKER = re.compile(r"\[mde-bot ([0-9a-f]{16})\]")
OUTSIDER = "U0OUTSIDER"

_serial = itertools.count(1)


def users(prefix: str, count: int) -> list[str]:
    return [f"U0{prefix}{i:03d}" for i in range(count)]


def bot_settings(responders: Iterable[str], approval: str) -> dict[str, Any]:
    return {
        "actions": "on",
        "responders": ",".join(responders),
        "approval_required": approval,
        "action_poll_seconds": 0.2,
        # MDE's minute scaled to 6 s, as section 4 does: the investigation packages' links,
        # two a minute, reach their requesters within the section.
        "mde_rate_window": 6.0,
    }


def devices(count: int) -> list[dict[str, Any]]:
    """Active Windows clients that run both isolation and scans (the simulator's rules), with a
    host name a paste finds exactly; the seeded tenant has about 90."""
    tenant = data.contoso()
    found = [
        m
        for m in tenant.machines
        if m.get("healthStatus") == "Active"
        and m.get("onboardingStatus") == "Onboarded"
        and m.get("osPlatform") in {"Windows10", "Windows11"}
        and (m.get("osPlatform") == "Windows11" or int(m.get("osBuild") or 0) >= 16299)
        and str(m.get("computerDnsName") or "").endswith(".corp.contoso.com")
    ]
    if len(found) < count:
        raise RuntimeError(f"the seeded tenant has {len(found)} such devices, not {count}")
    return found[:count]


# =============================================================================== the bot's trail


@contextlib.contextmanager
def own_tmpdir() -> Iterator[Path]:
    """A TMPDIR for the bot process started inside (its audit trail's folder goes there). This
    process's own temporary folder is unchanged: `tempfile` has read it (and keeps it) when
    making this one, before the variable changes."""
    with tempfile.TemporaryDirectory(prefix="bench-actions-") as folder:
        before = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = folder
        try:
            yield Path(folder)
        finally:
            if before is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = before


@contextlib.asynccontextmanager
async def acting_world(
    responders: Iterable[str], *, approval: str = "isolate"
) -> AsyncIterator[tuple[World, Path]]:
    """A world whose bot acts, and the path of its audit database."""
    with own_tmpdir() as folder:
        async with open_world(bot_settings(responders, approval), wide=True) as world:
            os.environ.pop("TMPDIR", None)  # only the bot process needed it
            sim = world.simulator
            sim.knobs.action_pickup, sim.knobs.action_run = 0.1, 0.2
            [database] = folder.glob("mde-bot-audit-*/audit.sqlite3")
            yield world, database


async def trail(database: Path) -> tuple[list[AuditRecord], bool, str]:
    """The bot's audit records, whether `AuditStore.verify` finds the chain intact, and what
    `mde-bot audit --verify` says (its exit status and first line)."""
    store = await AuditStore.open(str(database), migrate_schema=False)
    async with store:
        records = [r async for r in store.records()]
        report = await store.verify()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from handlers import main; main()",
        "audit",
        "--verify",
        "--database",
        str(database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MDE_", "BOT_"))},
    )
    out, _ = await process.communicate()
    said = out.decode(errors="replace").strip().splitlines()
    first = (said[0] if said else "").replace(str(database), "the bot's database")
    cli = f"exit {process.returncode}: {first}"
    return records, report.ok and process.returncode == 0, cli


def by_request(records: Sequence[AuditRecord]) -> dict[str, list[AuditRecord]]:
    out: dict[str, list[AuditRecord]] = {}
    for record in records:
        request = (record.details or {}).get("request_id")
        if request:
            out.setdefault(str(request), []).append(record)
    return out


# =============================================================================== Slack, as sent


@dataclass(frozen=True, slots=True)
class Timed:
    wall: float  # time.time() right before the request left (the simulator stamps wall time)
    sent: float  # monotonic, same instant
    acked: float  # monotonic, the whole answer read
    status: int
    body: str

    @property
    def ack(self) -> float:
        return self.acked - self.sent


async def interact(
    world: World, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Timed:
    """One interactivity payload, form-encoded and signed as Slack sends it."""
    body = urlencode({"payload": json.dumps(payload)})
    sent_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **world.slack.sign(body),
        **(headers or {}),
    }
    wall, sent = time.time(), time.monotonic()
    async with world.session.post(world.bot.url, data=body.encode(), headers=sent_headers) as r:
        text = await r.text()
    return Timed(wall, sent, time.monotonic(), r.status, text)


RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@dataclass
class Form:
    """A form the bot opened for `user` on `machine`, from the card in `thread`."""

    machine: str
    host: str
    user: str
    thread: str
    view: dict[str, Any]
    view_id: str = field(default_factory=lambda: f"V0BENCH{next(_serial):06d}")

    def submission(self, world: World, choice: str, user: str | None = None) -> dict[str, Any]:
        state: dict[str, dict[str, Any]] = {
            CHOICE: {CHOICE: {"type": "radio_buttons", "selected_option": {"value": choice}}},
            COMMENT: {
                COMMENT: {"type": "plain_text_input", "value": f"bench: {choice} on {self.host}"}
            },
        }
        return world.slack.submission_payload(
            self.view, state, view_id=self.view_id, user=user or self.user
        )


async def open_forms(world: World, wanted: Sequence[tuple[dict[str, Any], str]]) -> list[Form]:
    """For each (device, user): paste its host name, wait for the card, tap "Respond…" as
    `user`, and take the form the bot filled in. Not timed."""
    gate = asyncio.Semaphore(PREP)

    async def one(machine: dict[str, Any], user: str) -> Form:
        async with gate:
            host = str(machine["computerDnsName"]).lower()
            sent = await world.message(f"seen {host} in the proxy logs")
            if not await world.settle([sent.key], 60):
                raise RuntimeError(f"no card for {host}")
            card = world.slack.finals[sent.key][0].payload
            menu, option = respond_menu(card, str(machine["id"]))
            click = world.slack.click_payload(
                menu,
                message_ts=f"{int(time.time())}.{next(_serial):06d}",
                response_url=world.slack.response_url(),
                user=user,
                option=option,
                message={"thread_ts": card.get("thread_ts"), "text": card.get("text", "")},
            )
            click["trigger_id"] = f"{next(_serial)}.{secrets.token_hex(4)}"
            answered = await interact(world, click)
            if answered.status != 200:
                raise RuntimeError(f"Respond… answered {answered.status}")
            view = await form_view(world, str(machine["id"]), user)
            return Form(str(machine["id"]), host, user, sent.key, view)

    return list(await asyncio.gather(*(one(m, u) for m, u in wanted)))


def respond_menu(card: Mapping[str, Any], machine: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for element, option in clickables(list(card.get("blocks") or [])):
        if option is None:
            continue
        value = json.loads(option["value"])
        if value.get("a") == ActionId.RESPOND and value.get("d") == machine:
            return element, option
    raise LookupError(f"the card offers no Respond… for {machine}")


async def form_view(world: World, machine: str, user: str) -> dict[str, Any]:
    """The filled-in form for `machine` (its private_metadata names the device; a scenario
    opens one form per device)."""

    def find() -> dict[str, Any] | None:
        for call in world.slack.calls("views.update"):
            raw = call.get("view")
            view: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
            meta = view.get("private_metadata")
            if meta and FormContext.model_validate_json(meta).d == machine:
                return view
        return None

    if not await wait_until(lambda: find() is not None, 30):
        raise RuntimeError(f"no form was filled in for {machine}")
    view = find()
    assert view is not None
    if "you are not a responder" in json.dumps(view):
        raise RuntimeError(f"{user} was not offered actions")
    return view


# =============================================================================== what came back


def request_posts(world: World) -> dict[str, dict[str, Any]]:
    """Each request's first message (the one with its buttons), by request id."""
    out: dict[str, dict[str, Any]] = {}
    for post in world.slack.calls("chat.postMessage"):
        if not post.get("blocks"):
            continue
        found = REQUEST_ID.search(json.dumps(post.get("blocks")))
        if found and found.group(1) not in out:
            out[found.group(1)] = post
    return out


def request_posts_per_thread(world: World) -> Counter[str]:
    """How many request messages (distinct requests) each card's thread got."""
    return Counter(str(p.get("thread_ts")) for p in request_posts(world).values())


def told(world: World, requester: str, thread: str) -> list[dict[str, Any]]:
    """The thread's replies that name the requester: how a request's end is told."""
    return [
        p
        for p in world.slack.calls("chat.postMessage")
        if str(p.get("thread_ts")) == thread
        and str(p.get("text", "")).startswith(f"<@{requester}>")
    ]


def button(post: Mapping[str, Any], action_id: str) -> dict[str, Any]:
    for element, option in clickables(list(post.get("blocks") or [])):
        if option is None and element["action_id"] == action_id:
            return element
    raise LookupError(f"no {action_id} button")


def click(world: World, post: Mapping[str, Any], action_id: str, user: str) -> dict[str, Any]:
    return world.slack.click_payload(
        button(post, action_id),
        message_ts=f"{int(time.time())}.{next(_serial):06d}",
        response_url=world.slack.response_url(),
        user=user,
        message={"thread_ts": post.get("thread_ts"), "text": post.get("text", "")},
    )


def actions_of(world: World) -> dict[str, list[Any]]:
    """The simulator's machine actions, by the bot request whose marker their comment carries
    ("" for actions without one: the floor's)."""
    out: dict[str, list[Any]] = {}
    for action in world.simulator.actions:
        found = MARKER.search(str(action.body.get("Comment", "")))
        out.setdefault(found.group(1) if found else "", []).append(action)
    return out


async def wait_until(predicate: Any, within: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return bool(predicate())


# =============================================================================== 1 latency


async def floor_posts(world: World, forms: Sequence[tuple[Form, str]]) -> list[float]:
    """The same action POSTs, sent straight to the simulator at once (a token in hand, the
    TLS pool warmed by one GET per connection first): created minus sent, seconds."""
    sim = world.simulator
    tenant = sim.tenant("contoso")
    token = sim.issue_token(tenant.tenant_id, roles=DEMO_ROLES)
    context = ssl.create_default_context(cafile=str(sim.ca_path))
    headers = {"Authorization": f"Bearer {token}"}
    before = len(sim.actions)
    connector = aiohttp.TCPConnector(limit=0, ssl=context)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def warm(form: Form) -> None:
            async with session.get(f"{sim.api_url}/api/machines/{form.machine}") as r:
                await r.read()

        await asyncio.gather(*(warm(f) for f, _ in forms))
        sent: dict[str, float] = {}

        async def post(form: Form, choice: str) -> int:
            body = {"Comment": f"floor {form.host}"}
            body |= {"IsolationType": "Full"} if choice == ISOLATE else {"ScanType": "Quick"}
            url = f"{sim.api_url}/api/machines/{form.machine}/{PATHS[choice]}"
            sent[form.machine] = time.time()
            async with session.post(url, json=body) as r:
                await r.read()
                return r.status

        statuses = await asyncio.gather(*(post(f, c) for f, c in forms))
    if any(s != 201 for s in statuses):
        raise RuntimeError(f"the floor's POSTs were refused: {Counter(statuses)}")
    created = {a.machine_id: a.created.timestamp() for a in sim.actions[before:]}
    return [created[m] - at for m, at in sent.items()]


async def confirm_latency(result: SectionResult, count: int) -> None:
    half = count // 2
    askers, approvers = users("ASK", count), users("APP", count)
    chosen = devices(count)
    async with acting_world([*askers, *approvers]) as (world, _):
        forms = await open_forms(world, list(zip(chosen, askers, strict=True)))
        isolations, scans = forms[:half], forms[half:]
        # The isolations are asked for first; their approvals are what is timed.
        asked = await asyncio.gather(
            *(interact(world, f.submission(world, ISOLATE)) for f in isolations)
        )
        if any(a.status != 200 for a in asked):
            raise RuntimeError("an isolation request was not acked")
        threads = {f.thread for f in isolations}
        if not await wait_until(
            lambda: threads <= {str(p.get("thread_ts")) for p in request_posts(world).values()},
            60,
        ):
            raise RuntimeError("the isolation requests were not all posted")
        waiting = {str(p.get("thread_ts")): p for p in request_posts(world).values()}
        if world.simulator.actions:
            raise RuntimeError("an isolation reached MDE before its approval")
        payloads = [
            click(world, waiting[f.thread], ActionId.APPROVE, approvers[i])
            for i, f in enumerate(isolations)
        ] + [f.submission(world, SCAN) for f in scans]
        timed = await asyncio.gather(*(interact(world, p) for p in payloads))
        machines = [f.machine for f in forms]
        arrived = await wait_until(
            lambda: {a.machine_id for a in world.simulator.actions} >= set(machines), SETTLE
        )
        created: dict[str, float] = {}
        for action in world.simulator.actions:
            created.setdefault(action.machine_id, action.created.timestamp())
        ours = [created[m] - t.wall for m, t in zip(machines, timed, strict=True) if m in created]
        split = list(zip(forms, timed, strict=True))
        by_click = [created[f.machine] - t.wall for f, t in split[:half] if f.machine in created]
        by_form = [created[f.machine] - t.wall for f, t in split[half:] if f.machine in created]
        acks = [t.ack for t in timed]
        await wait_until(
            lambda: all(told(world, f.user, f.thread) for f in forms), SETTLE, step=0.2
        )
        await world.quiet(60)
        floor = await floor_posts(
            world, [(f, ISOLATE) for f in isolations] + [(f, SCAN) for f in scans]
        )
    p99, p50, floor99 = percentile(ours, 99), percentile(ours, 50), percentile(floor, 99)
    ack99 = percentile(acks, 99)
    result.details["latency"] = {
        "ours_s": sorted(rounded(x, 4) for x in ours),
        "floor_s": sorted(rounded(x, 4) for x in floor),
        "acks_s": sorted(rounded(x, 4) for x in acks),
    }
    result.add(
        Figure(
            SECTION,
            f"{count} confirmations at once ({half} approve clicks, {count - half} form "
            "submissions): p99 confirm → MDE ÷ floor p99",
            rounded(p99 / floor99, 2),
            absolute=(
                f"ours p99 {ms(p99)}, p50 {ms(p50)} (approve clicks p99 "
                f"{ms(percentile(by_click, 99)) if by_click else 'n/a'}, form submissions p99 "
                f"{ms(percentile(by_form, 99)) if by_form else 'n/a'}); floor (the same "
                f"{count} POSTs straight to the simulator, at once) p99 {ms(floor99)}, "
                f"p50 {ms(percentile(floor, 50))}"
                + ("" if arrived else f"; only {len(ours)} reached MDE in {SETTLE:.0f} s")
            ),
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{count} confirmations at once: actions that reached MDE",
            len(ours),
            f"{count}",
            len(ours) == count,
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{count} confirmations at once: ack p99 ÷ Slack's 3 s",
            rounded(ack99 / SLACK_ACK, 3),
            "≤ 0.33",
            ack99 / SLACK_ACK <= 1 / 3,
            f"ack p99 {ms(ack99)}, p50 {ms(percentile(acks, 50))}; statuses "
            f"{dict(Counter(t.status for t in timed))}",
        )
    )


# =============================================================================== 2 exactly once


# The form's choices and the simulator's endpoint each one POSTs to.
ENDPOINTS = {
    "isolate_full": "isolate",
    "release": "unisolate",
    "scan_quick": "av_scan",
    "collect": "collect_package",
    "restrict": "restrict",
    "unrestrict": "unrestrict",
}
AFTER = "restrict"  # the choice whose POSTs are all answered 500 after taking effect
BEFORE = ("isolate_full", "release", "scan_quick", "collect", "unrestrict")  # one 500 before


def abuse_plan(count: int) -> tuple[list[str], list[Fault]]:
    """Each request's choice, and the faults to force. `faults` requests (10%) restrict app
    execution, and every restriction POST is answered 500 after taking effect (a restriction
    is sent once, then looked for, so each draws exactly one); `faults` other endpoints get
    one 500 before taking effect each (the first POST there draws it; its resend finds none
    left), so each fault falls on a distinct request, whatever the order of arrival."""
    faults = min(len(BEFORE), max(1, round(count * FAULT_SHARE)))
    before = list(BEFORE[:faults])
    choices = [AFTER] * faults + [c for c in before[1:] for _ in range(faults)]
    choices += [BEFORE[0]] * (count - len(choices))
    plan = [Fault(500, endpoint=ENDPOINTS[AFTER], applied=True) for _ in range(faults)]
    plan += [Fault(500, endpoint=ENDPOINTS[c]) for c in before]
    return choices, plan


async def exactly_once(result: SectionResult, count: int) -> None:
    askers, firsts, seconds = users("ASK", count), users("APP", count), users("TWO", count)
    chosen = devices(count)
    choices, plan = abuse_plan(count)
    responders = [*askers, *firsts, *seconds]
    async with acting_world(responders, approval="contain,collect") as (world, database):
        sim = world.simulator
        sim.knobs.endpoint_limits = {}  # getPackageUri's 2 a minute is not what is measured
        forms = await open_forms(world, list(zip(chosen, askers, strict=True)))
        # Three submissions of each form at once: a double submit and Slack's retry.
        submissions = []
        for form, choice in zip(forms, choices, strict=True):
            payload = form.submission(world, choice)
            submissions += [
                interact(world, payload),
                interact(world, payload),
                interact(world, payload, RETRY),
            ]
        submitted = await asyncio.gather(*submissions)
        threads = {f.thread for f in forms}
        await wait_until(
            lambda: threads <= {str(p.get("thread_ts")) for p in request_posts(world).values()},
            60,
        )
        await asyncio.sleep(1.0)  # a duplicate request would be posted by now
        waiting = {str(p.get("thread_ts")): p for p in request_posts(world).values()}
        before_mde = len(sim.actions)
        sim.reset_counters()
        sim.force(*plan)
        clicks, firsts_clicked = [], []
        for i, form in enumerate(forms):
            if form.thread not in waiting:
                continue
            first = click(world, waiting[form.thread], ActionId.APPROVE, firsts[i])
            firsts_clicked.append(first)
            clicks += [
                interact(world, first),
                interact(world, first),
                interact(world, first, RETRY),
                interact(world, click(world, waiting[form.thread], ActionId.APPROVE, seconds[i])),
            ]
        clicked = await asyncio.gather(*clicks)
        ended = await wait_until(
            lambda: all(told(world, f.user, f.thread) for f in forms), SETTLE, step=0.2
        )
        # Slack's retries again, late: after every action has ended.
        late = await asyncio.gather(
            *(
                interact(world, f.submission(world, c), RETRY)
                for f, c in zip(forms, choices, strict=True)
            ),
            *(interact(world, c, RETRY) for c in firsts_clicked),
        )
        await world.quiet(60)
        await asyncio.sleep(1.0)  # a late duplicate (a second follow, a second post) shows now
        left = list(sim.knobs.forced)
        posts_to_mde = sum(sim.calls[e] for e in ENDPOINTS.values())
        records, chain_ok, cli = await trail(database)
        per_request = actions_of(world)
        posted = request_posts(world)
        per_thread = request_posts_per_thread(world)
        told_counts = [len(told(world, f.user, f.thread)) for f in forms]
        finals = [final_word(told(world, f.user, f.thread)) for f in forms]
        packages = sum(
            1
            for p in world.slack.calls("chat.postMessage")
            if str(p.get("channel", "")).startswith("D")
            and "investigation package" in str(p.get("text", ""))
        )
        log = world.bot.log.as_dict()
    audits = by_request(records)
    requested = [r for r in records if r.kind == AuditKind.ACTION_REQUESTED]
    approved = Counter(
        str(r.details.get("request_id")) for r in records if r.kind == AuditKind.ACTION_APPROVED
    )
    submitted_records = Counter(
        str(r.details.get("request_id")) for r in records if r.kind == AuditKind.ACTION_SUBMITTED
    )
    statuses = Counter(
        (str(r.details.get("request_id")), str(r.details.get("status")))
        for r in records
        if r.kind == AuditKind.ACTION_STATUS
    )
    created = sum(len(v) for k, v in per_request.items() if k)
    mde_ids = set(posted) | set(audits)
    took = {k for k in per_request if k}  # the requests MDE has an action of
    per_action = created / len(took) if took else 0.0
    ends = {k: str(rs[-1].details.get("stage")) for k, rs in audits.items()}
    # A request MDE took ends done (its status followed); one it never took ends failed.
    matching = sum(1 for k in mde_ids if (ends.get(k) == "done") == (k in took))
    never_took = {
        k: str(audits[k][-1].details.get("note")) if k in audits else "" for k in mde_ids - took
    }
    duplicates = (
        sum(max(0, len(v) - 1) for k, v in per_request.items() if k)  # machine actions
        + sum(max(0, n - 1) for n in per_thread.values())  # request messages in one thread
        + max(0, len(requested) - count)  # requests recorded
        + sum(max(0, n - 1) for n in approved.values())  # approvals recorded
        + sum(max(0, n - 1) for n in submitted_records.values())  # submissions recorded
        + sum(max(0, n - 1) for n in statuses.values())  # one status recorded twice
        + sum(max(0, n - 1) for n in told_counts)  # the requester told twice
    )
    final_in_audit = sum(
        1 for rs in audits.values() if str(rs[-1].details.get("stage")) in FINAL_STAGES
    )
    lost = count - min(final_in_audit, sum(1 for w in finals if w), len(mde_ids))
    # Each 500 before any effect made one POST that created nothing.
    before_taken = sum(1 for f in plan if not f.applied) - sum(1 for f in left if not f.applied)
    after_taken = sum(1 for f in plan if f.applied) - sum(1 for f in left if f.applied)
    result.details["exactly_once"] = {
        "requests": len(mde_ids),
        "never_taken_by_mde": never_took,
        "machine_actions": created,
        "action_posts": posts_to_mde,
        "faults_forced": {
            "after_effect": after_taken,
            "before_effect": before_taken,
            "left_unused": len(left),
        },
        "submissions_acked": dict(Counter(s.status for s in submitted)),
        "clicks_acked": dict(Counter(c.status for c in clicked)),
        "late_retries_acked": dict(Counter(c.status for c in late)),
        "final_words": dict(Counter(finals)),
        "audit_kinds": dict(Counter(str(r.kind) for r in records)),
        "actions_before_approval": before_mde,
        "cli_verify": cli,
        "bot_log": log,
    }
    result.bot_log = log
    kinds = ", ".join(f"{n} {c}" for c, n in Counter(choices).items())
    label = f"{count} actions x (3 submits + 4 approvals + 2 late retries), 10%+10% 5xx"
    result.add(
        Figure(
            SECTION,
            f"{label}: MDE machine actions per request MDE took",
            rounded(per_action, 2),
            "1.00",
            took == mde_ids
            and len(took) == count
            and not left
            and all(len(v) == 1 for k, v in per_request.items() if k),
            f"{created} machine actions for {len(took)} requests of {len(mde_ids)}; "
            f"{kinds}; {posts_to_mde} action POSTs ({after_taken} answered 500 after acting, "
            f"{before_taken} before; {len(left)} planned faults unused)",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{label}: requests whose end matches MDE (done ⇔ MDE has the action)",
            matching,
            f"{len(mde_ids)}",
            matching == len(mde_ids) == count,
            f"{len(never_took)} never reached MDE and ended failed"
            + (
                f" ({'; '.join(sorted(set(never_took.values())))[:160]}): each drew a 500 "
                "before any effect on every one of its sends"
                if never_took
                else ""
            ),
        )
    )
    resent = posts_to_mde / (created + before_taken) if created + before_taken else 0.0
    result.add(
        Figure(
            SECTION,
            f"{label}: action POSTs ÷ (machine actions + 500s before any effect)",
            rounded(resent, 2),
            "1.00",
            posts_to_mde == created + before_taken,
            "a POST is sent again only when MDE surely did nothing: "
            f"{posts_to_mde} POSTs, {created} actions, {before_taken} 500s before effect",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{label}: duplicates (actions, request messages, audit steps, notices)",
            duplicates,
            "0",
            duplicates == 0,
            f"{len(requested)} requests recorded for {count} forms submitted 3 times; "
            f"approvals recorded {sum(approved.values())} of {4 * count} clicks",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{label}: lost (no final state in the thread and the audit)",
            lost,
            "0",
            lost == 0 and ended,
            f"final in the audit {final_in_audit}, told in the thread "
            f"{sum(1 for w in finals if w)}; how they ended: {dict(Counter(finals))}",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{label}: requesters told how it ended",
            sum(1 for n in told_counts if n >= 1),
            f"{count}",
            all(n >= 1 for n in told_counts),
        )
    )
    if collected := choices.count("collect"):
        result.add(
            Figure(
                SECTION,
                f"{label}: investigation package links sent to their requesters",
                packages,
                f"{collected}",
                packages == collected,
                f"{collected} collections end at about the same time; the bot's own budget "
                "for getPackageUri is MDE's 2 a minute"
                + ("" if packages == collected else "; see tests/test_actions_bench_findings.py"),
            )
        )
    result.add(
        Figure(
            SECTION,
            f"{label}: audit chain verifies (records)",
            len(records) if chain_ok else "broken",
            "intact",
            chain_ok,
            f"AuditStore.verify and mde-bot audit --verify ({cli})",
        )
    )


FINAL_STAGES = {"done", "rejected", "expired", "failed", "cancelled"}
FINAL_WORDS = ("Succeeded", "Failed", "TimeOut", "Cancelled", "failed", "rejected", "expired")


def final_word(replies: Sequence[Mapping[str, Any]]) -> str:
    """How the request ended, as its requester was told ("" when not told)."""
    if not replies:
        return ""
    text = str(replies[0].get("text", ""))
    return next((w for w in FINAL_WORDS if w in text), text[:60])


# =============================================================================== 3 refusals


async def refusals(result: SectionResult, count: int) -> None:
    askers = users("ASK", count)
    chosen = devices(2 * count)
    async with acting_world(askers) as (world, database):
        sim = world.simulator
        forms = await open_forms(world, list(zip(chosen, askers * 2, strict=True)))
        outsiders, own = forms[:count], forms[count:]
        # Someone not a responder submits a form a responder opened.
        refused = await asyncio.gather(
            *(interact(world, f.submission(world, ISOLATE, user=OUTSIDER)) for f in outsiders)
        )
        form_errors = sum(
            1
            for r in refused
            if '"response_action": "errors"' in r.body or '"response_action":"errors"' in r.body
        )
        # Requesters ask for isolations and approve them themselves.
        await asyncio.gather(*(interact(world, f.submission(world, ISOLATE)) for f in own))
        threads = {f.thread for f in own}
        await wait_until(
            lambda: threads <= {str(p.get("thread_ts")) for p in request_posts(world).values()},
            60,
        )
        waiting = {str(p.get("thread_ts")): p for p in request_posts(world).values()}
        tokens = []
        for f in own:
            payload = click(world, waiting[f.thread], ActionId.APPROVE, f.user)
            tokens.append(payload["response_url"].rsplit("/", 1)[-1])
            await interact(world, payload)
        await wait_until(
            lambda: all(any(p.method == t for p in world.slack.posts) for t in tokens), 30
        )
        await world.quiet(30)
        await asyncio.sleep(1.0)
        notes = [next((p.payload for p in world.slack.posts if p.method == t), {}) for t in tokens]
        said = sum(1 for n in notes if "you asked for this one" in json.dumps(n))
        reached = len(sim.actions)
        records, chain_ok, _ = await trail(database)
    refusal_records = [r for r in records if r.kind == AuditKind.REFUSAL]
    not_responder = sum(
        1
        for r in refusal_records
        if r.actor.user == OUTSIDER and "not a responder" in str(r.details.get("reason"))
    )
    own_users = {f.user for f in own}
    self_refused = sum(
        1 for r in refusal_records if r.actor.user in own_users and r.actor.user != OUTSIDER
    )
    result.details["refusals"] = {
        "form_errors": form_errors,
        "self_approval_notes": said,
        "refusal_records": [
            {"user": r.actor.user, "reason": r.details.get("reason")} for r in refusal_records
        ],
    }
    result.add(
        Figure(
            SECTION,
            f"refusals ({count} non-responder submissions, {count} self-approvals): "
            "machine actions in MDE",
            reached,
            "0",
            reached == 0,
            f"non-responders shown the form's error {form_errors}/{count}; requesters told "
            f"'you asked for this one' {said}/{count}",
        )
    )
    result.add(
        Figure(
            SECTION,
            "refusals: non-responder submissions audited as refused",
            not_responder,
            f"{count}",
            not_responder == count,
        )
    )
    result.add(
        Figure(
            SECTION,
            "refusals: self-approvals audited as refused",
            self_refused,
            f"{count}",
            self_refused == count,
            f"the requesters were told; chain {'intact' if chain_ok else 'BROKEN'}"
            + ("" if self_refused == count else "; see tests/test_actions_bench_findings.py"),
        )
    )


# =============================================================================== the section


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    await confirm_latency(result, 10 if quick else 50)
    await exactly_once(result, 10 if quick else 50)
    await refusals(result, 3 if quick else 10)
    return result


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
