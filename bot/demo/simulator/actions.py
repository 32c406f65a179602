"""Response actions on a device and the machine actions they create (docs/mde-api.md §6).

    POST /machines/{id}/isolate                      {"Comment", "IsolationType"?}   201
    POST /machines/{id}/unisolate                    {"Comment"}                     201
    POST /machines/{id}/runAntiVirusScan             {"Comment", "ScanType"}         201
    POST /machines/{id}/collectInvestigationPackage  {"Comment"}                     201
    POST /machines/{id}/restrictCodeExecution        {"Comment"}                     201
    POST /machines/{id}/unrestrictCodeExecution      {"Comment"}                     201
    POST /machines/{id}/StopAndQuarantineFile        {"Comment", "Sha1"}             201
    GET  /machineactions[?$filter=…]  ·  GET /machineactions/{id}                    200
    POST /machineactions/{id}/cancel                 {"Comment"}                     200
    GET  /machineactions/{id}/getPackageUri          {"value": "<link>"}             200

Refusals, in the order they are checked: 404 for an unknown device; 400 InvalidRequestBody or
MissingRequiredParameter for a bad body; 400 OsPlatformNotSupported when the device's platform
cannot run the action (`lifecycle.Kind.support`); 400 ActiveRequestAlreadyExists ("Action is
already in progress") while an action of the same group runs on the device. How an action then
runs is `lifecycle`'s. The package link points back at this simulator
(`/safedownload/WDATP_Investigation_Package.zip?token=…`, outside `/api`, no bearer token: the
link is the secret) and stops working after `Knobs.package_url_lifetime`.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from aiohttp import web

from bot.demo.simulator import api, lifecycle
from bot.demo.simulator.api import CTX, MACHINE_READ, BadInput, Ctx, Endpoint, Handler
from bot.demo.simulator.data import Row
from bot.demo.simulator.files import find_profile
from bot.demo.simulator.lifecycle import Action, ActionBook, Kind
from bot.demo.simulator.machines import target_machine

# Filterable properties of machine actions, as documented.
ACTION_FIELDS = frozenset(["id", "status", "machineId", "type", "requestor", "creationDateTimeUtc"])
# Cancelling takes any one of the action roles (D:cancel-machine-action).
CANCEL_ROLES = (
    "Machine.CollectForensics",
    "Machine.Isolate",
    "Machine.RestrictExecution",
    "Machine.Scan",
    "Machine.Offboard",
    "Machine.StopAndQuarantine",
    "Machine.LiveResponse",
)
PACKAGE_PATH = "/safedownload/WDATP_Investigation_Package.zip"
_ENTITY = "MachineActions/$entity"


def _refuse_unsupported(kind: Kind, machine: Row, scope: str | None) -> None:
    if not kind.supports(machine, scope):
        platform = f"{machine.get('osPlatform')} {machine.get('version') or ''}".strip()
        what = f"{kind.title} ({scope})" if scope else kind.title
        raise BadInput("OsPlatformNotSupported", f"{what} is not supported on {platform}")


def _refuse_running(ctx: Ctx, machine: Row, kind: Kind, **same: Any) -> None:
    if ctx.book.running(ctx.tenant.tenant_id, str(machine["id"]), kind.group, **same):
        raise BadInput("ActiveRequestAlreadyExists", "Action is already in progress")


def _created(ctx: Ctx, action: Action) -> web.Response:
    body = {"@odata.context": api.context(ctx, _ENTITY), **action.as_created()}
    return api.json_response(body, 201)


async def _act(
    request: web.Request,
    kind: Kind,
    scope_field: str = "",
    scopes: tuple[str, ...] = (),
    default_scope: str | None = None,
) -> web.Response:
    """One of the actions that take a Comment and at most a scope."""
    ctx, machine = target_machine(request)
    allowed = ("Comment", scope_field) if scope_field else ("Comment",)
    body = await api.json_body(request, allowed)
    api.text_field(body, "Comment")
    scope = default_scope
    if scope_field:
        chosen = api.choice_field(body, scope_field, scopes, required=default_scope is None)
        scope = chosen or default_scope
    _refuse_unsupported(kind, machine, scope)
    _refuse_running(ctx, machine, kind)
    action = ctx.book.create(ctx.tenant.tenant_id, ctx.app_id, kind, machine, body, scope=scope)
    return _created(ctx, action)


def _acting(
    kind: Kind, scope_field: str = "", scopes: tuple[str, ...] = (), default: str | None = None
) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _act(request, kind, scope_field, scopes, default)

    return handler


def _signed_by_microsoft(profile: Row | None) -> bool:
    names = (profile or {}).get("signer"), (profile or {}).get("filePublisher")
    return any("microsoft" in str(name or "").lower() for name in names)


async def quarantine_file(request: web.Request) -> web.Response:
    """Stop and quarantine a file by SHA-1. The action fails on the device when the file is
    signed by Microsoft or Defender Antivirus is disabled there (the documented conditions)."""
    ctx, machine = target_machine(request)
    body = await api.json_body(request, ("Comment", "Sha1"))
    api.text_field(body, "Comment")
    sha1 = api.file_hash(str(api.text_field(body, "Sha1")), sha1_only=True)
    kind = lifecycle.QUARANTINE
    related = {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"}
    _refuse_unsupported(kind, machine, None)
    _refuse_running(ctx, machine, kind, relatedFileInfo=related)
    fails = (
        _signed_by_microsoft(find_profile(ctx.tenant, sha1))
        or machine.get("defenderAvStatus") == "Disabled"
    )
    action = ctx.book.create(
        ctx.tenant.tenant_id,
        ctx.app_id,
        kind,
        machine,
        body,
        related_file=related,
        fails=fails,
    )
    return _created(ctx, action)


# ---------------------------------------------------------------------------------- reading


def all_rows(ctx: Ctx) -> list[Row]:
    """The tenant's machine actions now, newest first: live ones, then the seeded ones."""
    return [*ctx.book.rows(ctx.tenant.tenant_id), *ctx.tenant.machine_actions]


def find_action(ctx: Ctx, key: str) -> Row | None:
    """A machine action as it is now: a live one, else a seeded one."""
    action = ctx.book.find(ctx.tenant.tenant_id, key)
    if action is not None:
        return action.row(ctx.now())
    return next((r for r in ctx.tenant.machine_actions if r["id"] == key.strip().lower()), None)


async def machine_actions(request: web.Request) -> web.Response:
    rows = api.filtered(request, all_rows(request[CTX]), ACTION_FIELDS)
    return api.page(request, rows, "MachineActions")


async def machine_action(request: web.Request) -> web.Response:
    ctx, row = api.target(request, "MachineAction", find_action)
    return api.entity(ctx, row, "MachineActions")


async def cancel(request: web.Request) -> web.Response:
    """Cancel a Pending or InProgress action (200 with it); a finished one is 400."""
    ctx, row = api.target(request, "MachineAction", find_action)
    body = await api.json_body(request, ("Comment",))
    comment = str(api.text_field(body, "Comment"))
    action = ctx.book.find(ctx.tenant.tenant_id, str(row["id"]))
    if action is None or not ctx.book.cancel(action, ctx.app_id, comment):
        raise BadInput(
            "BadRequest",
            f"Machine action {row['id']} is {row['status']} and can no longer be cancelled",
        )
    return api.entity(ctx, action.row(ctx.now()), "MachineActions")


async def package_uri(request: web.Request) -> web.Response:
    """A short-lived download link for a collection that Succeeded; 404 before (as MDE)."""
    ctx, row = api.target(request, "MachineAction", find_action)
    if row["type"] != lifecycle.COLLECT.type or row["status"] != "Succeeded":
        return api.not_found("Investigation package of machine action", str(row["id"]))
    token = ctx.book.issue_package(str(row["id"]), str(row.get("computerDnsName") or ""))
    package = ctx.book.package(token)
    assert package is not None  # issued just now
    # As MDE's Azure Storage links do: the signed expiry (`se`) in the query.
    expiry = package.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    link = f"{ctx.base_url}{PACKAGE_PATH}?token={token}&se={expiry}"
    value = f'"{link}"' if ctx.book.knobs.quote_package_uri else link
    return api.json_response({"@odata.context": api.context(ctx, "Edm.String"), "value": value})


# ---------------------------------------------------------------------------------- download


def package_zip(computer: str, action_id: str) -> bytes:
    """A small investigation package: a few of the folders a real one has, as text."""
    folders = {
        "Processes/processes.csv": "Name,Id\nexplorer.exe,4012\npowershell.exe,7412\n",
        "Network connections/netstat.txt": "TCP 10.1.2.3:49712 198.51.100.77:443 ESTABLISHED\n",
        "Autoruns/Run.txt": "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run: (none)\n",
        "Installed programs/programs.csv": "Name,Version\nMicrosoft Office,16.0\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", f"Investigation package of {computer} ({action_id}).\n")
        for name, text in folders.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def download(book: ActionBook, request: web.Request) -> web.Response:
    """The package behind a link, or 403 AuthenticationFailed (unknown or expired), as
    Azure Storage answers a SAS link that no longer works."""
    package = book.package(request.query.get("token", ""))
    if package is None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
            "<Message>The link is unknown or has expired.</Message></Error>"
        )
        return web.Response(status=403, text=body, content_type="application/xml")
    return web.Response(
        body=package_zip(package.computer, package.action_id),
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="WDATP_Investigation_Package.zip"'},
    )


ISOLATION_TYPES = ("Full", "Selective", "UnManagedDevice")
ENDPOINTS = (
    Endpoint(
        "isolate",
        "POST",
        "/machines/{id}/isolate",
        _acting(lifecycle.ISOLATE, "IsolationType", ISOLATION_TYPES, "Full"),
        ("Machine.Isolate",),
    ),
    Endpoint(
        "unisolate",
        "POST",
        "/machines/{id}/unisolate",
        _acting(lifecycle.UNISOLATE),
        ("Machine.Isolate",),
    ),
    Endpoint(
        "av_scan",
        "POST",
        "/machines/{id}/runAntiVirusScan",
        _acting(lifecycle.SCAN, "ScanType", ("Quick", "Full")),
        ("Machine.Scan",),
    ),
    Endpoint(
        "collect_package",
        "POST",
        "/machines/{id}/collectInvestigationPackage",
        _acting(lifecycle.COLLECT),
        ("Machine.CollectForensics",),
    ),
    Endpoint(
        "restrict",
        "POST",
        "/machines/{id}/restrictCodeExecution",
        _acting(lifecycle.RESTRICT),
        ("Machine.RestrictExecution",),
    ),
    Endpoint(
        "unrestrict",
        "POST",
        "/machines/{id}/unrestrictCodeExecution",
        _acting(lifecycle.UNRESTRICT),
        ("Machine.RestrictExecution",),
    ),
    Endpoint(
        "quarantine_file",
        "POST",
        "/machines/{id}/StopAndQuarantineFile",
        quarantine_file,
        ("Machine.StopAndQuarantine",),
    ),
    Endpoint("machine_actions", "GET", "/machineactions", machine_actions, MACHINE_READ),
    Endpoint("machine_action", "GET", "/machineactions/{id}", machine_action, MACHINE_READ),
    Endpoint("cancel_action", "POST", "/machineactions/{id}/cancel", cancel, CANCEL_ROLES),
    # The docs write both getPackageUri and GetPackageUri.
    Endpoint(
        "package_uri",
        "GET",
        "/machineactions/{id}/{call:[Gg]etPackageUri}",
        package_uri,
        MACHINE_READ,
    ),
)
