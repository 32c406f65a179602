"""Machine actions as the simulator runs them (docs/mde-api.md §6): which devices take which
action, how an action's status follows from the clock, and the book of every action and
investigation package link. Pure: no aiohttp, no I/O; the clock is given.

An action's whole course is planned when it is created, from the knobs and the device:

    Pending ──action_pickup──▶ InProgress ──action_run──▶ Succeeded | Failed
    Pending ──action_timeout──▶ TimeOut          (the device never picks it up)
    Pending | InProgress ──cancel──▶ Cancelled

and its status is computed from the time elapsed whenever it is read: no background task, and
a test that holds the clock (`knobs.ManualClock`) sees every step.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.demo.simulator import catalog
from bot.demo.simulator.knobs import Clock, Knobs, Outcome
from bot.demo.simulator.rows import Row, iso

RUNNING = frozenset({"Pending", "InProgress"})
FINAL = frozenset({"Succeeded", "Failed", "TimeOut", "Cancelled"})

# ---------------------------------------------------------------------------------- platforms

WINDOWS_CLIENTS = frozenset({"Windows10", "Windows11"})
WINDOWS_SERVERS = frozenset(os.platform for os in catalog.OS_SERVER)
LINUX = frozenset({"Linux"})
WINDOWS_1703 = 15063  # the osBuild of Windows 10, version 1703
WINDOWS_1709 = 16299  # … and of version 1709


@dataclass(frozen=True, slots=True)
class Support:
    """The devices an action runs on: these `osPlatform`s, Windows 10 from `windows10_build`."""

    platforms: frozenset[str]
    windows10_build: int = 0

    def allows(self, machine: Mapping[str, Any]) -> bool:
        platform = machine.get("osPlatform")
        if platform not in self.platforms:
            return False
        if platform != "Windows10":
            return True
        build = machine.get("osBuild")
        return isinstance(build, int) and build >= self.windows10_build


_ALL_OS = (
    catalog.OS_WORKSTATION,
    catalog.OS_SERVER,
    catalog.OS_MAC,
    catalog.OS_LINUX,
    catalog.OS_MOBILE,
)
EVERY_PLATFORM = Support(frozenset(os.platform for group in _ALL_OS for os in group))
ISOLATE_FULL = Support(WINDOWS_CLIENTS | WINDOWS_SERVERS | LINUX, WINDOWS_1703)
ISOLATE_SELECTIVE = Support(WINDOWS_CLIENTS, WINDOWS_1709)
WINDOWS_1709_AND_SERVERS = Support(WINDOWS_CLIENTS | WINDOWS_SERVERS, WINDOWS_1709)
WINDOWS_1703_AND_SERVERS = Support(WINDOWS_CLIENTS | WINDOWS_SERVERS, WINDOWS_1703)


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of machine action: its `type`, its `group` (two actions of one group never run
    at once on a device), its title, and the devices it runs on, by `scope` (None: any)."""

    type: str
    group: str
    title: str
    support: Mapping[str | None, Support]

    def supports(self, machine: Mapping[str, Any], scope: str | None) -> bool:
        rule = self.support.get(scope) or self.support.get(None)
        return rule is not None and rule.allows(machine)


ISOLATE = Kind(
    "Isolate",
    "isolation",
    "Isolate device",
    {
        "Full": ISOLATE_FULL,
        "Selective": ISOLATE_SELECTIVE,
        "UnManagedDevice": EVERY_PLATFORM,
    },
)
UNISOLATE = Kind("Unisolate", "isolation", "Release device from isolation", {None: ISOLATE_FULL})
SCAN = Kind("RunAntiVirusScan", "scan", "Run antivirus scan", {None: WINDOWS_1709_AND_SERVERS})
COLLECT = Kind(
    "CollectInvestigationPackage",
    "collection",
    "Collect investigation package",
    {None: WINDOWS_1703_AND_SERVERS},
)
RESTRICT = Kind(
    "RestrictCodeExecution",
    "restriction",
    "Restrict app execution",
    {None: WINDOWS_1709_AND_SERVERS},
)
UNRESTRICT = Kind(
    "UnrestrictCodeExecution",
    "restriction",
    "Remove app execution restriction",
    {None: WINDOWS_1709_AND_SERVERS},
)
QUARANTINE = Kind(
    "StopAndQuarantineFile",
    "quarantine",
    "Stop and quarantine file",
    {None: WINDOWS_1703_AND_SERVERS},
)

# ---------------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action as it was requested: what a benchmark counts (duplicates, bodies)."""

    tenant_id: str
    app_id: str
    action_id: str
    machine_id: str
    type: str
    body: Mapping[str, Any]
    created: datetime


@dataclass
class Action:
    """One live machine action: its fixed fields (`base`) and its planned course."""

    tenant_id: str
    kind: Kind
    base: Row
    created: datetime
    outcome: Outcome
    pickup: float  # seconds Pending (or, for TimeOut, until it times out)
    run: float  # seconds InProgress (0 for TimeOut)
    cancelled: datetime | None = None
    cancellation: Row = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.base["id"])

    @property
    def machine_id(self) -> str:
        return str(self.base["machineId"])

    def course(self) -> list[tuple[datetime, str]]:
        """Each status with the instant it begins, in order."""
        if self.outcome == "TimeOut":
            return [(self.created, "Pending"), (self.at(self.pickup), "TimeOut")]
        return [
            (self.created, "Pending"),
            (self.at(self.pickup), "InProgress"),
            (self.at(self.pickup + self.run), self.outcome),
        ]

    def at(self, seconds: float) -> datetime:
        return self.created + timedelta(seconds=seconds)

    def status(self, now: datetime) -> tuple[str, datetime]:
        """The status at `now` and the instant it began."""
        if self.cancelled is not None and now >= self.cancelled:
            return "Cancelled", self.cancelled
        begun = [(status, at) for at, status in self.course() if at <= now]
        return begun[-1] if begun else ("Pending", self.created)

    def row(self, now: datetime) -> Row:
        """The MachineAction entity as MDE would answer it at `now`."""
        status, since = self.status(now)
        return {**self.base, "status": status, "lastUpdateDateTimeUtc": iso(since)} | (
            self.cancellation if status == "Cancelled" else {}
        )

    def as_created(self) -> Row:
        """The entity the creating POST answers: Pending, as MDE always answers it."""
        return {**self.base, "status": "Pending", "lastUpdateDateTimeUtc": iso(self.created)}


def action_base(
    kind: Kind,
    machine: Mapping[str, Any],
    *,
    requestor: str,
    comment: str,
    created: datetime,
    scope: str | None = None,
    related_file: Row | None = None,
) -> Row:
    """The fields a MachineAction keeps from its creation on (D:machineaction)."""
    return {
        "id": str(uuid.uuid4()),
        "type": kind.type,
        "title": f"{kind.title} on {machine.get('computerDnsName')}",
        "requestor": requestor,
        "requestorComment": comment,
        "status": "Pending",
        "machineId": machine["id"],
        "computerDnsName": machine.get("computerDnsName"),
        "creationDateTimeUtc": iso(created),
        "lastUpdateDateTimeUtc": iso(created),
        "cancellationRequestor": None,
        "cancellationComment": None,
        "cancellationDateTimeUtc": None,
        "errorHResult": 0,
        "scope": scope,
        "externalId": None,
        "requestSource": "PublicApi",
        "relatedFileInfo": related_file,
        "commands": [],
        "troubleshootInfo": None,
    }


def picks_up(machine: Mapping[str, Any]) -> bool:
    """A device runs actions only while it reports: onboarded and Active."""
    onboarded = machine.get("onboardingStatus") == "Onboarded"
    return onboarded and machine.get("healthStatus") == "Active"


def device_state(rows: Iterable[Mapping[str, Any]]) -> tuple[bool, bool]:
    """(isolated, restricted) from a device's machine actions, newest first: the last Succeeded
    Isolate/Unisolate, and the last Succeeded Restrict/Unrestrict, decide."""
    isolated: bool | None = None
    restricted: bool | None = None
    for row in rows:
        if row.get("status") != "Succeeded":
            continue
        kind = row.get("type")
        if isolated is None and kind in {"Isolate", "Unisolate"}:
            isolated = kind == "Isolate"
        if restricted is None and kind in {"RestrictCodeExecution", "UnrestrictCodeExecution"}:
            restricted = kind == "RestrictCodeExecution"
    return bool(isolated), bool(restricted)


@dataclass(frozen=True, slots=True)
class Package:
    """A download link for an investigation package, valid until `expires`."""

    action_id: str
    computer: str
    expires: datetime


class ActionBook:
    """Every machine action and package link one simulator created, on its clock."""

    def __init__(self, clock: Clock, knobs: Knobs) -> None:
        self.clock = clock
        self.knobs = knobs
        self.records: list[ActionRecord] = []
        self._actions: dict[str, Action] = {}
        self._packages: dict[str, Package] = {}

    def create(
        self,
        tenant_id: str,
        app_id: str,
        kind: Kind,
        machine: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        scope: str | None = None,
        related_file: Row | None = None,
        fails: bool = False,
    ) -> Action:
        """A new action, planned from the knobs (a forced outcome first), then the device (one
        that does not report times out), then `fails` (what the device would refuse)."""
        now = self.clock()
        knobs = self.knobs
        forced = knobs.action_outcomes.get(str(machine["id"])) or knobs.action_outcomes.get(
            kind.type
        )
        outcome: Outcome = "Failed" if fails else "Succeeded"
        if not picks_up(machine):
            outcome = "TimeOut"
        outcome = forced or outcome
        base = action_base(
            kind,
            machine,
            requestor=app_id,
            comment=str(body.get("Comment")),
            created=now,
            scope=scope,
            related_file=related_file,
        )
        timing = (knobs.action_timeout, 0.0) if outcome == "TimeOut" else None
        pickup, run = timing or (knobs.action_pickup, knobs.action_run)
        action = Action(tenant_id, kind, base, now, outcome, pickup, run)
        self._actions[action.id] = action
        self.records.append(
            ActionRecord(tenant_id, app_id, action.id, action.machine_id, kind.type, body, now)
        )
        return action

    def find(self, tenant_id: str, action_id: str) -> Action | None:
        action = self._actions.get(action_id.strip().lower())
        return action if action is not None and action.tenant_id == tenant_id else None

    def rows(self, tenant_id: str) -> list[Row]:
        """The tenant's live actions as entities at the clock's now, newest first."""
        now = self.clock()
        live = [a for a in self._actions.values() if a.tenant_id == tenant_id]
        return [a.row(now) for a in reversed(live)]

    def running(self, tenant_id: str, machine_id: str, group: str, **same: Any) -> Action | None:
        """An action of `group` still Pending or InProgress on the device (whose `base` has the
        `same` fields, e.g. relatedFileInfo), if any."""
        now = self.clock()
        for action in self._actions.values():
            if (
                action.tenant_id == tenant_id
                and action.machine_id == machine_id
                and action.kind.group == group
                and all(action.base.get(k) == v for k, v in same.items())
                and action.status(now)[0] in RUNNING
            ):
                return action
        return None

    def cancel(self, action: Action, requestor: str, comment: str) -> bool:
        """Cancel a running action (True), or leave a finished one as it is (False)."""
        now = self.clock()
        if action.status(now)[0] not in RUNNING:
            return False
        action.cancelled = now
        action.cancellation = {
            "cancellationRequestor": requestor,
            "cancellationComment": comment,
            "cancellationDateTimeUtc": iso(now),
        }
        return True

    def issue_package(self, action_id: str, computer: str) -> str:
        """A new secret token for the package, valid for `package_url_lifetime` seconds."""
        token = secrets.token_urlsafe(32)
        expires = self.clock() + timedelta(seconds=self.knobs.package_url_lifetime)
        self._packages[token] = Package(action_id, computer, expires)
        return token

    def package(self, token: str) -> Package | None:
        """The package behind a token still valid now, else None."""
        found = self._packages.get(token)
        return found if found is not None and self.clock() < found.expires else None
