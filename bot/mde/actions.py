"""Response actions in MDE, one function per call, built on `MdeClient.write` (never retried
once it may have taken effect) and `MdeClient.fresh` (reads past the cache). What each call
sends and what MDE answers is in docs/mde-api.md §6.

    machine actions   isolate, release, av_scan, collect_package, restrict, unrestrict,
                      stop_and_quarantine → a Pending `MachineAction`; machine_action (poll),
                      machine_actions, cancel, package_uri
    device tags       set_tag → the `Machine`
    alerts            update_alert → the `Alert`
    custom indicators custom_indicators, submit_indicator → `CustomIndicator`, delete_indicator

**Exactly once.** A write that ends in `MdeUnconfirmed` may have been carried out. Before
sending it again, the caller looks: `find_request` finds a machine action by a marker the
caller put in its comment; `find_alert_comment`, `device_has_tag` and `find_indicator` answer
the same for the writes that create no machine action.

Every id is validated before it goes into a path (40-hex device ids, MDE alert ids, GUID action
ids, numeric indicator ids, hashes) and every path segment is percent-encoded. MDE's refusals
come back in our words (`bot.errors`): "already in progress" is `MdeActionPending`, a device that
cannot run the action `MdeNotSupported`, a missing role `MdeForbidden` naming the role, an
unknown device, action, alert or indicator `MdeNotFound`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

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
)
from bot.indicators import IndicatorType
from bot.logs import get_logger
from bot.mde import query
from bot.mde.client import MdeClient, segment
from bot.mde.custom import indicator_value
from bot.mde.lookups import complete, each_row, one, read_rows
from bot.mde.models import (
    ActionStatus,
    Alert,
    AlertComment,
    CustomIndicator,
    Machine,
    MachineAction,
)
from bot.mde.vocabulary import (
    ALERT_STATUSES,
    CLASSIFICATIONS,
    DETERMINATIONS,
    INDICATOR_ACTIONS,
    SEVERITIES,
)

log = get_logger(__name__)


class ActionKind(StrEnum):
    """The response actions the bot can take, as the policy and the buttons name them."""

    ISOLATE = "isolate"
    RELEASE = "release"
    SCAN = "scan"
    COLLECT = "collect"
    RESTRICT = "restrict"
    UNRESTRICT = "unrestrict"
    QUARANTINE = "quarantine"
    TAG = "tag"
    TRIAGE = "triage"
    BLOCK = "block"


MACHINE_READ: Final = ("Machine.Read.All", "Machine.ReadWrite.All")
# The application roles that let the bot take each action (any one of them), as the reference
# documents each endpoint; Machine.ReadWrite.All stands for a Machine.* action role only where
# Microsoft says so (stop and quarantine).
ACTION_ROLES: Final[Mapping[ActionKind, tuple[str, ...]]] = MappingProxyType(
    {
        ActionKind.ISOLATE: ("Machine.Isolate",),
        ActionKind.RELEASE: ("Machine.Isolate",),
        ActionKind.SCAN: ("Machine.Scan",),
        ActionKind.COLLECT: ("Machine.CollectForensics",),
        ActionKind.RESTRICT: ("Machine.RestrictExecution",),
        ActionKind.UNRESTRICT: ("Machine.RestrictExecution",),
        ActionKind.QUARANTINE: ("Machine.StopAndQuarantine", "Machine.ReadWrite.All"),
        ActionKind.TAG: ("Machine.ReadWrite.All",),
        ActionKind.TRIAGE: ("Alert.ReadWrite.All",),
        ActionKind.BLOCK: ("Ti.ReadWrite", "Ti.ReadWrite.All"),
    }
)
# The machine action each kind creates (the others create none).
MACHINE_ACTION_TYPES: Final[Mapping[ActionKind, str]] = MappingProxyType(
    {
        ActionKind.ISOLATE: "Isolate",
        ActionKind.RELEASE: "Unisolate",
        ActionKind.SCAN: "RunAntiVirusScan",
        ActionKind.COLLECT: "CollectInvestigationPackage",
        ActionKind.RESTRICT: "RestrictCodeExecution",
        ActionKind.UNRESTRICT: "UnrestrictCodeExecution",
        ActionKind.QUARANTINE: "StopAndQuarantineFile",
    }
)
# Cancelling takes any one of the machine action roles (D:cancel-machine-action).
CANCEL_ROLES: Final = (
    "Machine.Isolate", "Machine.Scan", "Machine.CollectForensics", "Machine.RestrictExecution",
    "Machine.StopAndQuarantine", "Machine.LiveResponse", "Machine.Offboard",
)  # fmt: skip
TI_READ: Final = ("Ti.Read.All", "Ti.ReadWrite", "Ti.ReadWrite.All")


# find_request reads at most this many of a device's actions (two pages).
FIND_LIMIT: Final = 200
# A marker shorter than this could be found in someone else's comment.
MIN_MARKER_CHARS: Final = 8
# Our clock and MDE's may differ: `since` reaches back this much further.
CLOCK_SKEW: Final = timedelta(minutes=5)
MAX_VALUE_CHARS: Final = 2048  # an indicator value we look up (long URLs)

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INDICATOR_ID = re.compile(r"^[0-9]{1,19}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# ---------------------------------------------------------------------- validation


def valid_action_id(value: str) -> str:
    """A machine action id: a GUID (lower-case)."""
    low = value.lower()
    if not _GUID.match(low):
        raise InputError(f"{value!r} is not an MDE machine action id")
    return low


def valid_indicator_id(value: str) -> str:
    """A custom indicator id: a number, as text."""
    if not _INDICATOR_ID.match(value):
        raise InputError(f"{value!r} is not an MDE custom indicator id")
    return value


def valid_sha1(value: str) -> str:
    kind, normal = query.file_hash(value)
    if kind != "sha1":
        raise InputError(f"{value!r} is not a SHA-1: MDE quarantines files by SHA-1 only")
    return normal


def _text(value: str, what: str) -> str:
    """A non-empty text MDE requires (a comment, a title): no control characters but line
    breaks and tabs."""
    if not value.strip():
        raise InputError(f"the {what} is empty: MDE requires one")
    if _CONTROL.search(value):
        raise InputError(f"the {what} holds control characters")
    return value


def _marker(value: str) -> str:
    if len(value.strip()) < MIN_MARKER_CHARS:
        raise InputError(f"a request marker has at least {MIN_MARKER_CHARS} characters")
    return value.strip()


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise InputError(f"{value!r} is not {what} MDE knows: one of {', '.join(choices)}")
    return value


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------- MDE's refusals


@contextlib.contextmanager
def _refusals(client: MdeClient, target: str, roles: Sequence[str]) -> Iterator[None]:
    """MDE's refusals of a call about `target` ("device 1e5b…") in our words; `roles` are what
    the call needs (any one of them), named when MDE's 403 does not say."""
    try:
        yield
    except MdePackageNotReady:
        raise
    except MdeNotFound:
        raise MdeNotFound(
            client.alias, f"MDE knows no {target}", hint="check the id, and the tenant"
        ) from None
    except MdeForbidden as exc:
        if exc.code == "DisabledFeature" or exc.missing_roles:
            raise
        needed = " or ".join(roles)
        raise MdeForbidden(
            client.alias,
            f"the app lacks {needed}",
            missing_roles=tuple(roles),
            hint=f"ask an Entra admin to grant {roles[0]} (WindowsDefenderATP API) and admin "
            "consent",
        ) from None
    except MdeBadRequest as exc:
        raise _refused(client, exc, target) from None


def _refused(client: MdeClient, exc: MdeBadRequest, target: str) -> Exception:
    """A 400 to a response action: already running, not supported, or a request MDE did not
    take (its code and words kept)."""
    code, detail = exc.code, exc.detail
    if code == "ActiveRequestAlreadyExists" or "already in progress" in detail.lower():
        return MdeActionPending(
            client.alias,
            f"an action of this kind is already running on {target}: MDE created nothing",
            code=code,
            detail=detail,
            hint="wait for it to finish (the device's machine actions show it), or cancel it",
        )
    if code in ("OsPlatformNotSupported", "ClientVersionNotSupported"):
        why = "operating system" if code == "OsPlatformNotSupported" else "Defender version"
        return MdeNotSupported(
            client.alias,
            f"{target} cannot run this action (its {why})",
            code=code,
            detail=detail,
            hint="MDE documents which devices take which action; use another response",
        )
    return MdeBadRequest(
        client.alias,
        f"MDE refused the request about {target} ({code or 'BadRequest'})",
        code=code,
        detail=detail,
        hint="MDE's reason comes with the error; correct the request before sending it again",
    )


# ---------------------------------------------------------------------- machine actions


async def _act(
    client: MdeClient, kind: ActionKind, machine_id: str, call: str, body: dict[str, str]
) -> MachineAction:
    """POST one machine action (`call` under the device) and read the Pending action."""
    device = query.machine_id(machine_id)
    with _refusals(client, f"device {device}", ACTION_ROLES[kind]):
        return await client.write(
            "POST",
            f"/machines/{segment(device)}/{call}",
            body=body,
            parse=one(client, MachineAction),
        )


async def isolate(
    client: MdeClient, machine_id: str, *, comment: str, selective: bool
) -> MachineAction:
    """Cut the device off the network (`selective`: Outlook, Teams and Skype keep working)."""
    body = {
        "Comment": _text(comment, "comment"),
        "IsolationType": "Selective" if selective else "Full",
    }
    return await _act(client, ActionKind.ISOLATE, machine_id, "isolate", body)


async def release(client: MdeClient, machine_id: str, *, comment: str) -> MachineAction:
    """Release the device from isolation."""
    body = {"Comment": _text(comment, "comment")}
    return await _act(client, ActionKind.RELEASE, machine_id, "unisolate", body)


async def av_scan(client: MdeClient, machine_id: str, *, comment: str, full: bool) -> MachineAction:
    """Run a Defender Antivirus scan, quick or `full`."""
    body = {"Comment": _text(comment, "comment"), "ScanType": "Full" if full else "Quick"}
    return await _act(client, ActionKind.SCAN, machine_id, "runAntiVirusScan", body)


async def collect_package(client: MdeClient, machine_id: str, *, comment: str) -> MachineAction:
    """Collect an investigation package; its link comes from `package_uri` once it succeeded."""
    body = {"Comment": _text(comment, "comment")}
    return await _act(client, ActionKind.COLLECT, machine_id, "collectInvestigationPackage", body)


async def restrict(client: MdeClient, machine_id: str, *, comment: str) -> MachineAction:
    """Let only Microsoft-signed applications run on the device."""
    body = {"Comment": _text(comment, "comment")}
    return await _act(client, ActionKind.RESTRICT, machine_id, "restrictCodeExecution", body)


async def unrestrict(client: MdeClient, machine_id: str, *, comment: str) -> MachineAction:
    """Remove the app execution restriction."""
    body = {"Comment": _text(comment, "comment")}
    return await _act(client, ActionKind.UNRESTRICT, machine_id, "unrestrictCodeExecution", body)


async def stop_and_quarantine(
    client: MdeClient, machine_id: str, *, comment: str, sha1: str
) -> MachineAction:
    """Stop the file's processes on the device and quarantine it (by SHA-1 only)."""
    body = {"Comment": _text(comment, "comment"), "Sha1": valid_sha1(sha1)}
    return await _act(client, ActionKind.QUARANTINE, machine_id, "StopAndQuarantineFile", body)


def kind_of(action: MachineAction) -> ActionKind | None:
    """Which of our kinds a machine action is (None: one the bot does not take)."""
    return next((k for k, t in MACHINE_ACTION_TYPES.items() if t == action.type), None)


async def machine_action(client: MdeClient, action_id: str) -> MachineAction:
    """One machine action as it is now (never cached: it is polled)."""
    key = valid_action_id(action_id)
    with _refusals(client, f"machine action {key}", MACHINE_READ):
        return await client.fresh(
            f"/machineactions/{segment(key)}", parse=one(client, MachineAction)
        )


def _newest_first(actions: Iterable[MachineAction]) -> list[MachineAction]:
    earliest = datetime.min.replace(tzinfo=UTC)
    return sorted(actions, key=lambda a: a.creation_date_time_utc or earliest, reverse=True)


async def machine_actions(
    client: MdeClient, machine_id: str, *, top: int = 50
) -> list[MachineAction]:
    """The device's latest `top` machine actions, newest first (never cached)."""
    if not 1 <= top <= 10_000:
        raise InputError("top is between 1 and 10,000")
    device = query.machine_id(machine_id)
    with _refusals(client, f"device {device}", MACHINE_READ):
        rows = await client.collect_uncached(
            "/machineactions",
            {"$filter": f"machineId eq {query.odata_string(device)}"},
            limit=top,
            page_size=min(top, 100),
        )
    return _newest_first(read_rows(MachineAction, rows))


async def devices_actions(
    client: MdeClient,
    machine_ids: Sequence[str],
    *,
    types: Sequence[str] = (),
    per_device: int = 20,
) -> dict[str, list[MachineAction]]:
    """The latest machine actions of several devices (of `types` only, when given), newest
    first per device, in as few calls as the filter's length allows (`(type eq … or …) and
    (machineId eq … or …)`; never cached: they change). Narrowing by type keeps one busy
    device's scans from crowding out another's isolation within the rows read."""
    wanted = list(dict.fromkeys(query.machine_id(m) for m in machine_ids))
    found: dict[str, list[MachineAction]] = {m: [] for m in wanted}
    of_type = f"({query.any_equal('type', types)}) and " if types else ""
    with _refusals(client, "machine actions", MACHINE_READ):
        for chunk in query.chunks_for_filter(wanted, len("machineId eq ''") + len(of_type)):
            rows = await client.collect_uncached(
                "/machineactions",
                {"$filter": f"{of_type}({query.any_equal('machineId', chunk)})"},
                limit=per_device * len(chunk),
                page_size=min(per_device * len(chunk), 100),
            )
            for action in read_rows(MachineAction, rows):
                if action.machine_id in found:
                    found[action.machine_id].append(action)
    return {m: _newest_first(actions) for m, actions in found.items()}


# A containment: the action that puts it on, the one that takes it off, and how its states
# read (on, being put on, being taken off).
CONTAINMENT: Final = (
    ("Isolate", "Unisolate", ("isolated", "isolation pending", "release pending")),
    (
        "RestrictCodeExecution",
        "UnrestrictCodeExecution",
        ("apps restricted", "app restriction pending", "restriction removal pending"),
    ),
)


def containment(actions: Sequence[MachineAction]) -> tuple[str, ...]:
    """PURE: what a device's machine actions (newest first) say of its containment now, e.g.
    ("isolated",), ("isolated", "release pending"), ("apps restricted",). MDE's device record
    carries no such state: the newest of the pair's actions that succeeded decides, and the
    newest one still under way is said as such."""
    states: list[str] = []
    for on, off, (held, putting, taking) in CONTAINMENT:
        mine = [(a, a.status) for a in actions if a.type in (on, off) and a.status is not None]
        done = next((a for a, s in mine if s is ActionStatus.SUCCEEDED), None)
        under_way = next((a for a, s in mine if not s.final), None)
        if done is not None and done.type == on:
            selective = (done.scope or "").lower() == "selective"
            states.append(held + (" (selective)" if selective else ""))
        if under_way is not None:
            states.append(putting if under_way.type == on else taking)
    return tuple(states)


async def find_request(
    client: MdeClient, machine_id: str, *, marker: str, since: datetime | None = None
) -> MachineAction | None:
    """The device's machine action whose comment holds `marker`, or None: after
    `MdeUnconfirmed`, whether MDE has the request. `since` (when it was first sent) bounds the
    search by time, whatever order MDE lists in; without it, the latest `FIND_LIMIT` actions
    are read. The newest match wins."""
    wanted = _marker(marker)
    device = query.machine_id(machine_id)
    conditions = [f"machineId eq {query.odata_string(device)}"]
    if since is not None:
        if since.tzinfo is None:
            raise InputError("since needs a time zone")
        conditions.append(f"creationDateTimeUtc ge {_stamp(since - CLOCK_SKEW)}")
    with _refusals(client, f"device {device}", MACHINE_READ):
        rows = await client.collect_uncached(
            "/machineactions", {"$filter": " and ".join(conditions)}, limit=FIND_LIMIT
        )
    actions = _newest_first(read_rows(MachineAction, rows))
    return next((a for a in actions if wanted in (a.requestor_comment or "")), None)


async def cancel(client: MdeClient, action_id: str, *, comment: str) -> MachineAction:
    """Cancel a Pending or InProgress machine action; MDE answers with it, Cancelled."""
    key = valid_action_id(action_id)
    body = {"Comment": _text(comment, "comment")}
    try:
        with _refusals(client, f"machine action {key}", CANCEL_ROLES):
            return await client.write(
                "POST",
                f"/machineactions/{segment(key)}/cancel",
                body=body,
                parse=one(client, MachineAction),
            )
    except MdeBadRequest as exc:
        raise MdeBadRequest(
            client.alias,
            f"MDE would not cancel machine action {key}: it has most likely finished",
            code=exc.code,
            detail=exc.detail,
            hint="read the action's status: a finished action can no longer be cancelled",
        ) from None


async def package_uri(client: MdeClient, action_id: str) -> str:
    """The short-lived download link of a collection's investigation package.

    The link is a credential: it is never logged nor put in an error. The action is read
    first, so that asking too early costs no call of getPackageUri's own limit (2 a minute,
    120 an hour, 404s included): beyond it the call is refused at once with the wait
    (`MdeRateLimited`) rather than queued, as a person asked and can be told to come back."""
    action = await machine_action(client, action_id)
    key = action.id
    if action.type != MACHINE_ACTION_TYPES[ActionKind.COLLECT]:
        raise InputError(
            f"machine action {key} is {action.type or 'of no known type'}, not a collection: "
            "it has no investigation package"
        )
    if action.status is not ActionStatus.SUCCEEDED:
        raise _not_ready(client, key, action.status)
    try:
        with _refusals(client, f"machine action {key}", MACHINE_READ):
            link = await client.fresh(
                f"/machineactions/{segment(key)}/getPackageUri",
                parse=lambda body: _package_link(client, body),
                limit=client.package_budget,
            )
    except MdeNotFound:
        raise _not_ready(client, key, None) from None
    except MdeRateLimited as exc:
        raise MdeRateLimited(
            client.alias,
            exc.retry_after,
            hint="MDE gives at most 2 package links a minute (120 an hour); ask again then",
        ) from None
    log.info("mde_package_link", connector=client.alias, action_id=key)  # never the link
    return link


def _not_ready(client: MdeClient, key: str, status: ActionStatus | None) -> MdePackageNotReady:
    if status is not None and status.final:
        return MdePackageNotReady(
            client.alias,
            f"collection {key} ended {status}: it has no package",
            hint="collect an investigation package again",
        )
    where = f"is {status}" if status is not None else "has not succeeded yet"
    return MdePackageNotReady(
        client.alias,
        f"the investigation package is not ready: collection {key} {where}",
        hint="MDE gives the link once the collection has succeeded; follow the action, then ask",
    )


def _package_link(client: MdeClient, body: Any) -> str:
    """`{"value": "<link>"}`, the link unwrapped from the double quotes some answers add."""
    value = body.get("value") if isinstance(body, dict) else None
    link = value.strip() if isinstance(value, str) else ""
    if len(link) >= 2 and link[0] == link[-1] == '"':
        link = link[1:-1].strip()
    if not link.startswith("https://") or any(c.isspace() for c in link):
        raise MdeUnavailable(client.alias, "MDE's answer held no usable package link")
    return link


# ---------------------------------------------------------------------- tags and alerts


async def set_tag(client: MdeClient, machine_id: str, *, value: str, add: bool) -> Machine:
    """Add or remove (`add=False`) a device tag; MDE answers with the device as it now is."""
    device = query.machine_id(machine_id)
    body = {"Value": _text(value, "tag").strip(), "Action": "Add" if add else "Remove"}
    with _refusals(client, f"device {device}", ACTION_ROLES[ActionKind.TAG]):
        return await client.write(
            "POST", f"/machines/{segment(device)}/tags", body=body, parse=one(client, Machine)
        )


async def update_alert(
    client: MdeClient,
    alert_id: str,
    *,
    status: str | None = None,
    assigned_to: str | None = None,
    classification: str | None = None,
    determination: str | None = None,
    comment: str | None = None,
) -> Alert:
    """Triage an alert: only the fields given are sent, at least one. A comment is added to
    the alert's comments (sending it twice adds it twice)."""
    key = query.alert_id(alert_id)
    body: dict[str, str] = {}
    if status is not None:
        body["status"] = _choice(status, ALERT_STATUSES, "an alert status")
    if assigned_to is not None:
        body["assignedTo"] = _text(assigned_to, "assignee").strip()
    if classification is not None:
        body["classification"] = _choice(classification, CLASSIFICATIONS, "a classification")
    if determination is not None:
        body["determination"] = _choice(determination, DETERMINATIONS, "a determination")
    if comment is not None:
        body["comment"] = _text(comment, "comment")
    if not body:
        raise InputError("nothing to update: give a status, assignee, verdict or comment")
    with _refusals(client, f"alert {key}", ACTION_ROLES[ActionKind.TRIAGE]):
        return await client.write(
            "PATCH", f"/alerts/{segment(key)}", body=body, parse=one(client, Alert)
        )


# ---------------------------------------------------------------------- custom indicators


def _lookup_value(value: str) -> str:
    if not value.strip() or len(value) > MAX_VALUE_CHARS or _CONTROL.search(value):
        raise InputError(f"{value[:80]!r} is not an indicator value MDE could hold")
    return value.strip()


async def custom_indicators(client: MdeClient, values: Sequence[str]) -> list[CustomIndicator]:
    """The custom indicators MDE holds for any of `values` (what "already blocked by X until
    Y" is read from), batched into `indicatorValue eq …` filters; cached like a lookup (a write
    clears the cache). Hashes are matched as given: pass them lower-case, as the bot submits."""
    wanted = list(dict.fromkeys(_lookup_value(v) for v in values))
    found: list[CustomIndicator] = []
    with _refusals(client, "custom indicator", TI_READ):
        for chunk in query.chunks_for_filter(wanted, len("indicatorValue eq ''")):
            rows = await client.collect(
                "/indicators",
                {"$filter": query.any_equal("indicatorValue", chunk)},
                parse=each_row(CustomIndicator),
                keep=complete,
                limit=10 * len(chunk),
            )
            found += rows.records
    return found


async def submit_indicator(
    client: MdeClient,
    *,
    value: str,
    kind: IndicatorType,
    action: str,
    title: str,
    description: str,
    expires: datetime,
    severity: str | None = None,
    generate_alert: bool | None = None,
) -> CustomIndicator:
    """Submit a custom indicator (`action`: Block, Audit, Alert, …) until `expires`. MDE
    treats a value it already holds (same type) as an update of that indicator, so sending it
    again replaces its fields rather than adding a second one."""
    mde_type, normal = indicator_value(value, kind)
    if expires.tzinfo is None:
        raise InputError("the expiry needs a time zone")
    if expires <= datetime.now(UTC):
        raise InputError("the expiry is in the past")
    body: dict[str, Any] = {
        "indicatorValue": normal,
        "indicatorType": mde_type,
        "action": _choice(action, INDICATOR_ACTIONS, "an indicator action"),
        "title": _text(title, "title"),
        "description": _text(description, "description"),
        "expirationTime": _stamp(expires),
    }
    if severity is not None:
        body["severity"] = _choice(severity, SEVERITIES, "a severity")
    if generate_alert is not None:
        body["generateAlert"] = generate_alert
    if action == "Audit" and not generate_alert:
        raise InputError("an Audit indicator needs generate_alert=True (MDE requires it)")
    with _refusals(client, f"indicator {normal}", ACTION_ROLES[ActionKind.BLOCK]):
        return await client.write(
            "POST", "/indicators", body=body, parse=one(client, CustomIndicator)
        )


async def delete_indicator(client: MdeClient, indicator_id: str) -> None:
    """Delete a custom indicator by its id."""
    key = valid_indicator_id(indicator_id)
    with _refusals(client, f"custom indicator {key}", ACTION_ROLES[ActionKind.BLOCK]):
        await client.write("DELETE", f"/indicators/{segment(key)}", parse=lambda _: None)


# ---------------------------------------------------------------------- confirming a write


async def current_device(client: MdeClient, machine_id: str) -> Machine:
    """The device as MDE has it now (never cached): its `machine_tags` after a tag write."""
    device = query.machine_id(machine_id)
    with _refusals(client, f"device {device}", MACHINE_READ):
        return await client.fresh(f"/machines/{segment(device)}", parse=one(client, Machine))


async def device_has_tag(client: MdeClient, machine_id: str, value: str) -> bool:
    """Whether the device has the tag now (tags compare case-insensitively)."""
    tag = value.strip().lower()
    return any(t.lower() == tag for t in (await current_device(client, machine_id)).machine_tags)


async def current_alert(client: MdeClient, alert_id: str) -> Alert:
    """The alert as MDE has it now (never cached): status, assignee, verdict, comments."""
    key = query.alert_id(alert_id)
    with _refusals(client, f"alert {key}", ("Alert.Read.All", "Alert.ReadWrite.All")):
        return await client.fresh(f"/alerts/{segment(key)}", parse=one(client, Alert))


async def find_alert_comment(
    client: MdeClient, alert_id: str, *, marker: str
) -> AlertComment | None:
    """The alert's comment that holds `marker`, or None: after `MdeUnconfirmed` on an
    `update_alert` with a comment, whether MDE has it."""
    wanted = _marker(marker)
    alert = await current_alert(client, alert_id)
    return next((c for c in alert.comments if wanted in (c.comment or "")), None)


async def find_indicator(
    client: MdeClient, *, value: str, kind: IndicatorType
) -> CustomIndicator | None:
    """The custom indicator MDE holds now for this value and type (never cached), or None."""
    mde_type, normal = indicator_value(value, kind)
    condition = (
        f"indicatorValue eq {query.odata_string(normal)} "
        f"and indicatorType eq {query.odata_string(mde_type)}"
    )
    with _refusals(client, f"indicator {normal}", TI_READ):
        rows = await client.collect_uncached("/indicators", {"$filter": condition}, limit=10)
    return next(iter(read_rows(CustomIndicator, rows)), None)
