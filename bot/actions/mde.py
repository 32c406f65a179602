"""A request's MDE side: which call it makes, how to tell whether an unconfirmed one took
effect, and how its status is read (`bot.mde.actions` has the calls themselves).

Every comment sent to MDE ends with the request's marker (`[mde-bot 3f2a…]`): MDE keeps it with
the action (or the alert's comment), which is how a request whose answer was lost is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.actions.requests import ActionRequest
from bot.enrichment.check import allowed_actions
from bot.errors import MdeActionPending, MdeForbidden, MdeUnconfirmed
from bot.indicators import IndicatorType
from bot.mde import actions as mde
from bot.mde.actions import ACTION_ROLES, MACHINE_ACTION_TYPES, ActionKind
from bot.mde.client import MdeClient
from bot.mde.models import MachineAction

__all__ = [
    "UNCONFIRMED",
    "MdeUnconfirmed",
    "Sent",
    "cancel",
    "describe",
    "find",
    "require_role",
    "send",
]

DONE = "Succeeded"  # what a write that is not a machine action reports once MDE took it
UNCONFIRMED = "Unconfirmed"  # sent, MDE's answer lost, and MDE could not say whether it has it


@dataclass(frozen=True, slots=True)
class Sent:
    """What MDE made of a request: its action's id and status (or the indicator's id)."""

    mde_id: str | None
    status: str
    final: bool
    note: str | None = None


def mde_comment(request: ActionRequest) -> str:
    return f"{request.comment} {request.marker}".strip()


def _since(request: ActionRequest) -> datetime:
    return datetime.fromtimestamp(request.created, UTC)


def _sent(action: MachineAction, note: str | None = None) -> Sent:
    status = action.status
    return Sent(action.id, str(status or "Pending"), status is not None and status.final, note)


async def require_role(client: MdeClient, kind: ActionKind) -> None:
    """Refuse up front when the app's roles cannot take (and follow) the action."""
    roles = (await client.tokens.claims()).roles
    if kind not in allowed_actions(roles):
        needs = " or ".join(ACTION_ROLES[kind])
        raise MdeForbidden(
            client.alias,
            f"the app lacks {needs}",
            hint=f"ask an Entra admin to grant {needs} (WindowsDefenderATP API) and consent",
        )


async def send(client: MdeClient, request: ActionRequest) -> Sent:
    """Send the request to MDE once. An action MDE already runs on the device is followed
    instead of sent again."""
    comment = mde_comment(request)
    options = request.options
    kind = request.kind
    try:
        match kind:
            case ActionKind.ISOLATE:
                selective = options.get("isolation") == "Selective"
                return _sent(
                    await mde.isolate(client, request.subject, comment=comment, selective=selective)
                )
            case ActionKind.RELEASE:
                return _sent(await mde.release(client, request.subject, comment=comment))
            case ActionKind.SCAN:
                full = options.get("scan") == "Full"
                return _sent(await mde.av_scan(client, request.subject, comment=comment, full=full))
            case ActionKind.COLLECT:
                return _sent(await mde.collect_package(client, request.subject, comment=comment))
            case ActionKind.RESTRICT:
                return _sent(await mde.restrict(client, request.subject, comment=comment))
            case ActionKind.UNRESTRICT:
                return _sent(await mde.unrestrict(client, request.subject, comment=comment))
            case ActionKind.QUARANTINE:
                sha1 = options["sha1"]
                return _sent(
                    await mde.stop_and_quarantine(
                        client, request.subject, comment=comment, sha1=sha1
                    )
                )
            case ActionKind.TAG:
                add = options.get("tag_action", "Add") == "Add"
                await mde.set_tag(client, request.subject, value=options["tag"], add=add)
                return Sent(None, DONE, True)
            case ActionKind.TRIAGE:
                await mde.update_alert(
                    client,
                    request.subject,
                    status=options.get("status"),
                    assigned_to=options.get("assigned_to"),
                    classification=options.get("classification"),
                    determination=options.get("determination"),
                    comment=comment,
                )
                return Sent(None, DONE, True)
            case ActionKind.BLOCK:
                indicator = await mde.submit_indicator(
                    client,
                    value=request.subject,
                    kind=IndicatorType(options["indicator_type"]),
                    action=options["indicator_action"],
                    title=options["title"],
                    description=comment,
                    expires=datetime.fromisoformat(options["expires"]),
                    severity=options.get("severity"),
                    generate_alert=options.get("indicator_action") == "Audit" or None,
                )
                return Sent(indicator.id, DONE, True)
    except MdeActionPending:
        running = await _running(client, request)
        if running is None:
            raise
        return _sent(running, "MDE already had this action under way: it is followed here")
    raise AssertionError(f"no MDE call for {kind}")  # every kind is matched above


# The option that MDE keeps as a machine action's `scope`, per kind.
SCOPE_OPTIONS = {ActionKind.ISOLATE: "isolation", ActionKind.SCAN: "scan"}


async def _running(client: MdeClient, request: ActionRequest) -> MachineAction | None:
    """The device's unfinished action that is what the request asks for: its type, and its
    scope (a full scan is not a quick one that happens to run); None when there is none."""
    wanted = MACHINE_ACTION_TYPES.get(request.kind)
    option = SCOPE_OPTIONS.get(request.kind)
    scope = (request.options.get(option) or "").lower() if option else ""
    for action in await mde.machine_actions(client, request.subject):
        if action.type != wanted or action.status is None or action.status.final:
            continue
        if scope and action.scope and action.scope.lower() != scope:
            continue
        return action
    return None


async def find(client: MdeClient, request: ActionRequest) -> Sent | None:
    """Whether MDE carried out a request whose answer was lost: what it made of it, or None."""
    options = request.options
    match request.kind:
        case kind if kind in MACHINE_ACTION_TYPES:
            found = await mde.find_request(
                client, request.subject, marker=request.marker, since=_since(request)
            )
            return _sent(found) if found is not None else None
        case ActionKind.TAG:
            has = await mde.device_has_tag(client, request.subject, options["tag"])
            wanted = options.get("tag_action", "Add") == "Add"
            return Sent(None, DONE, True) if has == wanted else None
        case ActionKind.TRIAGE:
            comment = await mde.find_alert_comment(client, request.subject, marker=request.marker)
            return Sent(None, DONE, True) if comment is not None else None
        case ActionKind.BLOCK:
            held = await mde.find_indicator(
                client, value=request.subject, kind=IndicatorType(options["indicator_type"])
            )
            if held is None or request.marker not in (held.description or ""):
                return None
            return Sent(held.id, DONE, True)
    return None


async def status(client: MdeClient, request: ActionRequest) -> tuple[str, bool]:
    """MDE's status of the request's machine action now: (status, whether it is final)."""
    assert request.mde_id is not None
    action = await mde.machine_action(client, request.mde_id)
    status = action.status
    return str(status or "Pending"), status is not None and status.final


async def cancel(client: MdeClient, action_id: str, *, comment: str) -> None:
    await mde.cancel(client, action_id, comment=comment)


async def package_link(client: MdeClient, request: ActionRequest) -> str:
    """The investigation package's short-lived link (a credential: never log it)."""
    assert request.mde_id is not None
    return await mde.package_uri(client, request.mde_id)


def describe(request: ActionRequest) -> str:
    """What would be sent (dry run), in a few words."""
    options = ", ".join(f"{k}={v}" for k, v in sorted(request.options.items()))
    return f"{request.kind} on {request.subject_name}" + (f" ({options})" if options else "")
