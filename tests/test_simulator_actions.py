"""The simulator's response-action API over real HTTPS with real tokens (docs/mde-api.md §6):
machine actions and their lifecycle on a clock the test holds, cancelling, investigation
packages and their limits, device tags, alert triage, custom indicators, and the refusals MDE
gives (404, 400 with MDE's codes, 403 naming the missing roles, 429)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from bot.demo.simulator import (
    ALL_READ_ROLES,
    DEMO_ROLES,
    REQUIRED_ROLES,
    Fault,
    ManualClock,
    Simulator,
)
from bot.demo.simulator.data import (
    AUDITED_IP,
    CONTOSO_TENANT,
    DEMO_ALERT_IDS,
    DEMO_DOMAIN,
    DEMO_HOST,
    DEMO_MACHINE_ID,
    DEMO_SHA1,
    DEMO_SHA256,
    POWERSHELL,
    Row,
)
from bot.demo.simulator.probe import Probe, Reply
from tests.test_simulator import SAMPLE_CALLS

APP = "7e1d2c3b-4a5f-4e6d-8c7b-6a5f4e3d2c1b"  # the bot's app id in these tests
ACTION_ID = "00000000-0000-4000-8000-000000000000"  # no such machine action
DOC_SCAN_ID = "2e9da30d-27f6-4208-81f2-9cd3d67893ba"  # a documented, finished scan
DOC_COLLECTION_ID = "69dc3630-1ccc-4342-acf3-35286eec741d"  # a documented, finished collection
DOC_MACHINE = "f46b9bb259ed4a7fb9981b73510e3cc7aa81ec1f"  # the documented actions' device
ISOLATE = ("isolate", {"Comment": "req-1", "IsolationType": "Full"})
ACTIONS: dict[str, tuple[str, dict[str, Any], str, str | None]] = {
    # name: (path under the machine, body, type, scope)
    "isolate": (
        "isolate", {"Comment": "c", "IsolationType": "Selective"}, "Isolate", "Selective"
    ),
    "unisolate": ("unisolate", {"Comment": "c"}, "Unisolate", None),
    "av_scan": (
        "runAntiVirusScan", {"Comment": "c", "ScanType": "Quick"}, "RunAntiVirusScan", "Quick"
    ),
    "collect_package": (
        "collectInvestigationPackage", {"Comment": "c"}, "CollectInvestigationPackage", None
    ),
    "restrict": ("restrictCodeExecution", {"Comment": "c"}, "RestrictCodeExecution", None),
    "unrestrict": ("unrestrictCodeExecution", {"Comment": "c"}, "UnrestrictCodeExecution", None),
    "quarantine_file": (
        "StopAndQuarantineFile", {"Comment": "c", "Sha1": DEMO_SHA1}, "StopAndQuarantineFile", None
    ),
}  # fmt: skip
# One request per new endpoint, for the role checks: (method, path, body).
ACTION_CALLS: dict[str, tuple[str, str, Any]] = {
    **{n: ("POST", f"/machines/{DEMO_MACHINE_ID}/{p}", b) for n, (p, b, _, _) in ACTIONS.items()},
    "machine_tags": ("POST", f"/machines/{DEMO_MACHINE_ID}/tags", {"Value": "x", "Action": "Add"}),
    "machine_actions": ("GET", "/machineactions", None),
    "machine_action": ("GET", f"/machineactions/{DOC_SCAN_ID}", None),
    "cancel_action": ("POST", f"/machineactions/{DOC_SCAN_ID}/cancel", {"Comment": "c"}),
    "package_uri": ("GET", f"/machineactions/{DOC_COLLECTION_ID}/getPackageUri", None),
    "alert_update": ("PATCH", f"/alerts/{DEMO_ALERT_IDS[0]}", {"comment": "c"}),
    "indicators": ("GET", "/indicators", None),
    "indicator_submit": ("POST", "/indicators", {}),
    "indicator_delete": ("DELETE", "/indicators/9001", None),
}


class Api:
    """Calls as the bot's app (every read and action role) or with the roles a test names."""

    def __init__(self, probe: Probe, sim: Simulator, clock: ManualClock) -> None:
        self.probe = probe
        self.sim = sim
        self.clock = clock

    def token(self, roles: tuple[str, ...] = DEMO_ROLES, client_id: str = APP) -> str:
        return self.sim.issue_token(CONTOSO_TENANT, roles=roles, client_id=client_id)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        extra: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        url = f"{self.sim.api_url}/api{path}"
        return await self.probe.request(method, url, headers=headers, params=params, **extra)

    async def act(self, name: str, body: dict[str, Any] | None = None, **kw: Any) -> Reply:
        machine = kw.pop("machine", DEMO_MACHINE_ID)
        path, default, _, _ = ACTIONS[name]
        return await self.call("POST", f"/machines/{machine}/{path}", body or default, **kw)

    async def action(self, action_id: str) -> Row:
        reply = await self.call("GET", f"/machineactions/{action_id}")
        assert reply.status == 200, reply.text
        row: Row = reply.json()
        return row

    async def status(self, action_id: str) -> str:
        return str((await self.action(action_id))["status"])

    async def of_machine(self, machine: str = DEMO_MACHINE_ID) -> list[Row]:
        params = {"$filter": f"machineId eq '{machine}'"}
        reply = await self.call("GET", "/machineactions", params=params)
        assert reply.status == 200, reply.text
        rows: list[Row] = reply.json()["value"]
        return rows


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def api(clock: ManualClock) -> AsyncIterator[Api]:
    async with Simulator(clock=clock) as sim, Probe.open(sim) as probe:
        yield Api(probe, sim, clock)


def device(sim: Simulator, platform: str, health: str = "Active") -> Row:
    """A contoso device on `platform` in that health."""
    return next(
        m
        for m in sim.tenant("contoso").machines
        if m.get("osPlatform") == platform
        and m.get("healthStatus") == health
        and m.get("onboardingStatus") == "Onboarded"
    )


# ------------------------------------------------------------------------------------ creating


@pytest.mark.parametrize("name", sorted(ACTIONS))
async def test_each_action_answers_201_with_a_pending_machine_action(api: Api, name: str) -> None:
    _, body, kind, scope = ACTIONS[name]

    reply = await api.act(name)

    assert reply.status == 201, reply.text
    action = reply.json()
    assert action["@odata.context"].endswith("/api/$metadata#MachineActions/$entity")
    assert action["type"] == kind
    assert action["scope"] == scope
    assert action["status"] == "Pending"
    assert action["requestor"] == APP
    assert action["requestorComment"] == "c"
    assert action["machineId"] == DEMO_MACHINE_ID
    assert action["computerDnsName"] == DEMO_HOST
    assert action["creationDateTimeUtc"] == action["lastUpdateDateTimeUtc"]
    assert action["cancellationRequestor"] is None
    assert len(action["id"]) == 36
    related = {"fileIdentifier": DEMO_SHA1, "fileIdentifierType": "Sha1"}
    assert action["relatedFileInfo"] == (related if name == "quarantine_file" else None)
    assert api.sim.calls[name] == 1
    assert [(r.action_id, r.type, dict(r.body)) for r in api.sim.actions] == [
        (action["id"], kind, body)
    ]


async def test_isolation_without_a_type_is_full(api: Api) -> None:
    reply = await api.act("isolate", {"Comment": "c"})

    assert reply.json()["scope"] == "Full"


async def test_the_demo_registration_can_act_with_a_token_from_the_token_endpoint(
    api: Api,
) -> None:
    token = (await api.probe.token(CONTOSO_TENANT)).json()["access_token"]

    reply = await api.act("isolate", token=token)

    assert reply.status == 201


# ------------------------------------------------------------------------------------ lifecycle


async def test_an_action_moves_from_pending_to_in_progress_to_succeeded(api: Api) -> None:
    created = (await api.act(*ISOLATE)).json()
    seen = [await api.status(created["id"])]
    for seconds in (1.9, 0.1, 2.9, 0.1, 3600):
        api.clock.advance(seconds)
        seen.append(await api.status(created["id"]))
    done = await api.action(created["id"])

    assert seen == ["Pending", "Pending", "InProgress", "InProgress", "Succeeded", "Succeeded"]
    assert done["lastUpdateDateTimeUtc"] > done["creationDateTimeUtc"]
    assert api.sim.device_state(DEMO_MACHINE_ID).isolated


async def test_zero_step_knobs_finish_an_action_at_once(api: Api) -> None:
    api.sim.knobs.action_pickup = api.sim.knobs.action_run = 0

    created = await api.act("av_scan")

    assert created.json()["status"] == "Pending"  # as MDE answers the POST
    assert await api.status(created.json()["id"]) == "Succeeded"


async def test_isolation_state_is_the_last_succeeded_isolate_or_unisolate(api: Api) -> None:
    api.sim.knobs.action_pickup = api.sim.knobs.action_run = 0
    before = api.sim.device_state(DEMO_MACHINE_ID)
    await api.act(*ISOLATE)
    await api.act("restrict")
    isolated = api.sim.device_state(DEMO_MACHINE_ID)
    await api.act("unisolate")
    released = api.sim.device_state(DEMO_MACHINE_ID)
    listed = await api.of_machine()

    assert (before.isolated, before.restricted) == (False, False)
    assert (isolated.isolated, isolated.restricted) == (True, True)
    assert (released.isolated, released.restricted) == (False, True)
    assert [a["type"] for a in listed] == ["Unisolate", "RestrictCodeExecution", "Isolate"]


async def test_a_device_that_does_not_report_never_picks_the_action_up(api: Api) -> None:
    inactive = device(api.sim, "Windows11", "Inactive")

    created = (await api.act("av_scan", machine=inactive["id"])).json()
    api.clock.advance(api.sim.knobs.action_timeout - 1)
    waiting = await api.status(created["id"])
    api.clock.advance(1)

    assert waiting == "Pending"
    assert await api.status(created["id"]) == "TimeOut"


@pytest.mark.parametrize("key", ["machine", "type"])
async def test_a_knob_forces_an_outcome_by_device_or_by_type(api: Api, key: str) -> None:
    api.sim.knobs.action_outcomes[DEMO_MACHINE_ID if key == "machine" else "Isolate"] = "Failed"

    failing = (await api.act(*ISOLATE)).json()
    other = (await api.act("av_scan")).json()
    api.clock.advance(10)

    assert await api.status(failing["id"]) == "Failed"
    expected = "Failed" if key == "machine" else "Succeeded"
    assert await api.status(other["id"]) == expected


@pytest.mark.parametrize(
    ("sha1", "antivirus", "outcome"),
    [
        (DEMO_SHA1, "Updated", "Succeeded"),
        (POWERSHELL.sha1, "Updated", "Failed"),  # signed by Microsoft
        (DEMO_SHA1, "Disabled", "Failed"),  # Defender Antivirus off
    ],
)
async def test_quarantine_fails_where_mde_documents_it_cannot_run(
    api: Api, sha1: str, antivirus: str, outcome: str
) -> None:
    target = {**device(api.sim, "Windows11"), "id": "b" * 40, "defenderAvStatus": antivirus}
    api.sim.tenant("contoso").machines.append(target)

    body = {"Comment": "c", "Sha1": sha1}
    created = (await api.act("quarantine_file", body, machine=target["id"])).json()
    api.clock.advance(10)

    assert await api.status(created["id"]) == outcome


# ------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("isolate", "isolate"),
        ("isolate", "unisolate"),
        ("av_scan", "av_scan"),
        ("collect_package", "collect_package"),
        ("restrict", "unrestrict"),
        ("quarantine_file", "quarantine_file"),
    ],
)
async def test_an_action_of_the_same_kind_in_progress_is_400(
    api: Api, first: str, second: str
) -> None:
    created = await api.act(first)
    api.clock.advance(3)  # InProgress now
    refused = await api.act(second)
    api.clock.advance(3)  # finished
    later = await api.act(second)

    assert created.status == 201
    assert refused.status == 400
    assert refused.code == "ActiveRequestAlreadyExists"
    assert refused.json()["error"]["message"] == "Action is already in progress"
    assert later.status == 201
    assert len(api.sim.actions) == 2


async def test_actions_of_other_kinds_or_other_files_run_side_by_side(api: Api) -> None:
    other_file = {"Comment": "c", "Sha1": "0" * 40}

    replies = [
        await api.act(*ISOLATE),
        await api.act("av_scan"),
        await api.act("quarantine_file"),
        await api.act("quarantine_file", other_file),
    ]

    assert [r.status for r in replies] == [201, 201, 201, 201]


@pytest.mark.parametrize(
    ("platform", "name", "body", "status"),
    [
        ("macOS", "isolate", None, 400),
        ("iOS", "av_scan", None, 400),
        ("Android", "collect_package", None, 400),
        ("Linux", "av_scan", None, 400),
        ("Linux", "restrict", None, 400),
        ("Linux", "isolate", {"Comment": "c", "IsolationType": "Selective"}, 400),
        ("Linux", "isolate", {"Comment": "c", "IsolationType": "Full"}, 201),
        ("WindowsServer2016", "isolate", {"Comment": "c", "IsolationType": "Selective"}, 400),
        ("WindowsServer2022", "quarantine_file", None, 201),
        ("macOS", "isolate", {"Comment": "c", "IsolationType": "UnManagedDevice"}, 201),
    ],
)
async def test_platforms_that_cannot_run_an_action_are_400_os_platform_not_supported(
    api: Api, platform: str, name: str, body: dict[str, Any] | None, status: int
) -> None:
    reply = await api.act(name, body, machine=device(api.sim, platform)["id"])

    assert reply.status == status, reply.text
    if status == 400:
        assert reply.code == "OsPlatformNotSupported"


@pytest.mark.parametrize(("build", "isolate", "selective"), [(14393, 400, 400), (15063, 201, 400)])
async def test_windows_10_needs_1703_to_isolate_and_1709_for_selective(
    api: Api, build: int, isolate: int, selective: int
) -> None:
    old = {
        **device(api.sim, "Windows10"),
        "id": "a" * 40,
        "computerDnsName": "old-pc",
        "osBuild": build,
    }
    api.sim.tenant("contoso").machines.append(old)

    full = await api.act("isolate", {"Comment": "c"}, machine=old["id"])
    api.clock.advance(3600)
    partly = await api.act(
        "isolate", {"Comment": "c", "IsolationType": "Selective"}, machine="old-pc"
    )

    assert (full.status, partly.status) == (isolate, selective)


@pytest.mark.parametrize("name", sorted(ACTIONS))
async def test_an_unknown_device_is_404(api: Api, name: str) -> None:
    reply = await api.act(name, machine="0" * 40)

    assert reply.status == 404
    assert reply.code == "ResourceNotFound"
    assert api.sim.actions == []


@pytest.mark.parametrize(
    ("name", "body", "raw", "code"),
    [
        ("isolate", None, "not json", "InvalidRequestBody"),
        ("isolate", None, "[1, 2]", "InvalidRequestBody"),
        ("isolate", {}, None, "MissingRequiredParameter"),
        ("isolate", {"comment": "c"}, None, "InvalidRequestBody"),  # names are case-sensitive
        ("isolate", {"Comment": ""}, None, "InvalidRequestBody"),
        ("isolate", {"Comment": 7}, None, "InvalidRequestBody"),
        ("isolate", {"Comment": "c", "IsolationType": "full"}, None, "InvalidRequestBody"),
        ("av_scan", {"Comment": "c"}, None, "MissingRequiredParameter"),
        ("av_scan", {"Comment": "c", "ScanType": "Deep"}, None, "InvalidRequestBody"),
        ("quarantine_file", {"Comment": "c"}, None, "MissingRequiredParameter"),
        ("quarantine_file", {"Comment": "c", "Sha1": DEMO_SHA256}, None, "InvalidHashValue"),
        ("unisolate", {"Comment": "c", "IsolationType": "Full"}, None, "InvalidRequestBody"),
    ],
)
async def test_bad_bodies_are_400_with_mdes_codes(
    api: Api, name: str, body: dict[str, Any] | None, raw: str | None, code: str
) -> None:
    path = ACTIONS[name][0]
    reply = await api.call("POST", f"/machines/{DEMO_MACHINE_ID}/{path}", body, raw=raw)

    assert reply.status == 400
    assert reply.code == code
    assert api.sim.actions == []


# ------------------------------------------------------------------------------------ reading


async def test_machine_actions_filter_on_documented_fields(api: Api) -> None:
    api.sim.knobs.action_pickup = api.sim.knobs.action_run = 0
    isolation = (await api.act(*ISOLATE)).json()
    await api.act("av_scan")

    async def ids(expression: str) -> list[str]:
        reply = await api.call("GET", "/machineactions", params={"$filter": expression})
        return [r["id"] for r in reply.json()["value"]]

    assert await ids(f"id eq '{isolation['id']}'") == [isolation["id"]]
    assert await ids(f"type eq 'Isolate' and machineId eq '{DEMO_MACHINE_ID}'") == [isolation["id"]]
    assert len(await ids(f"status eq 'Succeeded' and requestor eq '{APP}'")) == 2
    assert len(await ids(f"creationDateTimeUtc ge {isolation['creationDateTimeUtc'][:19]}Z")) == 2
    refused = await api.call("GET", "/machineactions", params={"$filter": "title eq 'x'"})
    assert refused.code == "ODataError"


async def test_the_documented_actions_answer_as_documented(api: Api) -> None:
    listed = await api.call(
        "GET", "/machineactions", params={"$filter": f"machineId eq '{DOC_MACHINE}'", "$top": "2"}
    )
    one = await api.call("GET", f"/machineactions/{DOC_SCAN_ID}")
    missing = await api.call("GET", f"/machineactions/{ACTION_ID}")

    assert [r["type"] for r in listed.json()["value"]] == [
        "CollectInvestigationPackage",
        "RunAntiVirusScan",
    ]
    assert one.json()["requestorComment"] == "Check machine for viruses due to alert 3212"
    assert missing.status == 404


# ------------------------------------------------------------------------------------ cancel


async def test_a_pending_action_can_be_cancelled_and_stays_cancelled(api: Api) -> None:
    created = (await api.act(*ISOLATE)).json()
    path = f"/machineactions/{created['id']}/cancel"

    cancelled = await api.call("POST", path, {"Comment": "wrong device"})
    api.clock.advance(3600)
    later = await api.action(created["id"])
    again = await api.act(*ISOLATE)

    assert cancelled.status == 200
    body = cancelled.json()
    assert body["status"] == "Cancelled"
    assert body["cancellationRequestor"] == APP
    assert body["cancellationComment"] == "wrong device"
    assert body["cancellationDateTimeUtc"] == body["lastUpdateDateTimeUtc"]
    assert later["status"] == "Cancelled"
    assert again.status == 201  # nothing in progress any more


async def test_a_finished_action_cannot_be_cancelled(api: Api) -> None:
    created = (await api.act("av_scan")).json()
    api.clock.advance(10)

    finished = await api.call("POST", f"/machineactions/{created['id']}/cancel", {"Comment": "c"})
    documented = await api.call("POST", f"/machineactions/{DOC_SCAN_ID}/cancel", {"Comment": "c"})
    unknown = await api.call("POST", f"/machineactions/{ACTION_ID}/cancel", {"Comment": "c"})

    assert (finished.status, finished.code) == (400, "BadRequest")
    assert await api.status(created["id"]) == "Succeeded"
    assert documented.status == 400
    assert unknown.status == 404


async def test_a_cancelled_isolation_never_isolates(api: Api) -> None:
    created = (await api.act(*ISOLATE)).json()
    api.clock.advance(3)  # InProgress: still cancellable
    await api.call("POST", f"/machineactions/{created['id']}/cancel", {"Comment": "c"})
    api.clock.advance(3600)

    assert api.sim.device_state(DEMO_MACHINE_ID).isolated is False


# ------------------------------------------------------------------------------------ packages


async def test_the_package_link_is_404_until_the_collection_succeeds_then_downloads(
    api: Api,
) -> None:
    created = (await api.act("collect_package")).json()
    path = f"/machineactions/{created['id']}/getPackageUri"

    early = await api.call("GET", path)
    api.clock.advance(5)
    ready = await api.call("GET", path)
    link = ready.json()["value"]
    status, content = await api.probe.download(link)

    assert early.status == 404
    assert ready.status == 200
    assert ready.json()["@odata.context"].endswith("/api/$metadata#Edm.String")
    assert link.startswith(
        f"{api.sim.base_url}/safedownload/WDATP_Investigation_Package.zip?token="
    )
    assert status == 200
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "README.txt" in names
    assert api.sim.calls["package_download"] == 1


async def test_the_package_link_has_its_own_limit_of_2_a_minute(api: Api) -> None:
    api.sim.knobs.action_pickup = api.sim.knobs.action_run = 0
    created = (await api.act("collect_package")).json()
    path = f"/machineactions/{created['id']}/getPackageUri"

    first = [await api.call("GET", path) for _ in range(3)]
    other = await api.call("GET", f"/machineactions/{created['id']}")  # the 100/min budget
    api.clock.advance(60)
    later = await api.call("GET", path)

    assert [r.status for r in first] == [200, 200, 429]
    assert first[2].code == "TooManyRequests"
    assert int(first[2].headers["Retry-After"]) == 60
    assert other.status == 200
    assert later.status == 200
    assert api.sim.calls["over_budget"] == 1


async def test_the_package_link_has_an_hourly_limit_too(api: Api) -> None:
    api.sim.knobs.endpoint_limits["package_uri"] = ((2, 60.0), (3, 3600.0))
    path = f"/machineactions/{DOC_COLLECTION_ID}/getPackageUri"

    statuses = []
    for _ in range(4):
        statuses.append((await api.call("GET", path)).status)
        api.clock.advance(61)
    refused = await api.call("GET", path)

    assert statuses == [200, 200, 200, 429]
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 60


async def test_a_package_link_expires(api: Api) -> None:
    reply = await api.call("GET", f"/machineactions/{DOC_COLLECTION_ID}/GetPackageUri")
    link = reply.json()["value"]
    api.clock.advance(api.sim.knobs.package_url_lifetime - 1)
    fresh, _ = await api.probe.download(link)
    api.clock.advance(1)
    stale, _ = await api.probe.download(link)
    forged, _ = await api.probe.download(link.split("token=")[0] + "token=forged")

    assert (fresh, stale, forged) == (200, 403, 403)


async def test_only_a_succeeded_collection_has_a_package(api: Api) -> None:
    api.sim.knobs.action_pickup = api.sim.knobs.action_run = 0
    api.sim.knobs.action_outcomes["CollectInvestigationPackage"] = "Failed"
    failed = (await api.act("collect_package")).json()
    api.sim.knobs.endpoint_limits.clear()

    replies = [
        await api.call("GET", f"/machineactions/{failed['id']}/getPackageUri"),
        await api.call("GET", f"/machineactions/{DOC_SCAN_ID}/getPackageUri"),
        await api.call("GET", f"/machineactions/{ACTION_ID}/getPackageUri"),
    ]

    assert [r.status for r in replies] == [404, 404, 404]


async def test_a_knob_quotes_the_link_as_the_documented_example_does(api: Api) -> None:
    api.sim.knobs.quote_package_uri = True

    value = (await api.call("GET", f"/machineactions/{DOC_COLLECTION_ID}/getPackageUri")).json()

    assert value["value"].startswith('"https://')
    assert value["value"].endswith('"')


# ------------------------------------------------------------------------------------ roles


@pytest.mark.parametrize("name", sorted(ACTION_CALLS))
async def test_every_new_endpoint_demands_its_roles(api: Api, name: str) -> None:
    """Every role but the endpoint's: 403 with MDE's message; one of its roles alone: not 403."""
    required = REQUIRED_ROLES[name]
    others = tuple(r for r in DEMO_ROLES if r not in required)
    method, path, body = ACTION_CALLS[name]

    refused = await api.call(method, path, body, token=api.token(others))
    allowed = await api.call(method, path, body, token=api.token(required[-1:]))

    assert refused.status == 403
    assert refused.code == "Forbidden"
    assert refused.json()["error"]["message"] == (
        f"Missing application roles. API required roles: {','.join(required)}, "
        f"application roles: {','.join(others)}."
    )
    assert allowed.status != 403
    assert allowed.status < 500


def test_every_endpoint_has_a_sample_call_and_the_documented_roles() -> None:
    assert set(SAMPLE_CALLS) | set(ACTION_CALLS) == set(REQUIRED_ROLES)
    assert REQUIRED_ROLES["isolate"] == REQUIRED_ROLES["unisolate"] == ("Machine.Isolate",)
    assert REQUIRED_ROLES["av_scan"] == ("Machine.Scan",)
    assert REQUIRED_ROLES["collect_package"] == ("Machine.CollectForensics",)
    assert REQUIRED_ROLES["restrict"] == ("Machine.RestrictExecution",)
    assert REQUIRED_ROLES["quarantine_file"] == ("Machine.StopAndQuarantine",)
    assert REQUIRED_ROLES["machine_tags"] == ("Machine.ReadWrite.All",)
    assert REQUIRED_ROLES["package_uri"] == ("Machine.Read.All", "Machine.ReadWrite.All")
    assert "Machine.Isolate" in REQUIRED_ROLES["cancel_action"]
    assert REQUIRED_ROLES["alert_update"] == ("Alert.ReadWrite.All",)
    assert REQUIRED_ROLES["indicators"] == ("Ti.Read.All", "Ti.ReadWrite", "Ti.ReadWrite.All")
    assert REQUIRED_ROLES["indicator_submit"] == ("Ti.ReadWrite", "Ti.ReadWrite.All")


async def test_a_read_only_app_cannot_act(api: Api) -> None:
    reply = await api.act(*ISOLATE, token=api.token(ALL_READ_ROLES))

    assert reply.status == 403
    assert "API required roles: Machine.Isolate," in reply.json()["error"]["message"]
    assert api.sim.actions == []


async def test_actions_count_against_the_same_budget_as_reads(api: Api) -> None:
    api.sim.knobs.rate_limit = 2

    replies = [
        await api.call("GET", f"/machines/{DEMO_MACHINE_ID}"),
        await api.act(*ISOLATE),
        await api.act("av_scan"),
    ]

    assert [r.status for r in replies] == [200, 201, 429]
    assert "Retry-After" in replies[2].headers
    assert len(api.sim.actions) == 1


# ------------------------------------------------------------------------------------ faults


async def test_an_applied_fault_creates_the_action_then_answers_the_error(api: Api) -> None:
    """Accepted but unconfirmed: the caller sees 504; the action is there, with its comment."""
    api.sim.force(Fault(504, endpoint="isolate", applied=True))

    looked_up = await api.call("GET", f"/machines/{DEMO_MACHINE_ID}")  # the fault waits
    answered = await api.act("isolate", {"Comment": "isolate [req 5f2c]"})
    listed = await api.of_machine()

    assert looked_up.status == 200
    assert answered.status == 504
    assert [a["requestorComment"] for a in listed] == ["isolate [req 5f2c]"]
    assert len(api.sim.actions) == 1


async def test_an_applied_hang_creates_the_action_and_never_answers_in_time(api: Api) -> None:
    api.sim.force(Fault(hang=30, endpoint="isolate", applied=True))

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await api.act(*ISOLATE)
    retried = await api.act(*ISOLATE)

    assert [r.type for r in api.sim.actions] == ["Isolate"]
    assert retried.code == "ActiveRequestAlreadyExists"


def test_a_fault_for_an_endpoint_that_does_not_exist_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="isolation"):
        Simulator().force(Fault(503, endpoint="isolation"))


async def test_a_plain_fault_on_an_action_creates_nothing(api: Api) -> None:
    api.sim.force(Fault(503, endpoint="isolate"))

    reply = await api.act(*ISOLATE)

    assert reply.status == 503
    assert api.sim.actions == []
    assert await api.of_machine() == []


# ------------------------------------------------------------------------------------ tags


async def test_tags_are_added_and_removed_and_show_on_the_machine(api: Api) -> None:
    path = f"/machines/{DEMO_MACHINE_ID}/tags"

    added = await api.call("POST", path, {"Value": "Contained", "Action": "Add"})
    twice = await api.call("POST", path, {"Value": "contained", "Action": "Add"})
    shown = await api.call("GET", f"/machines/{DEMO_HOST}")
    found = await api.call(
        "GET", "/machines", params={"$filter": "machineTags/any(t: t eq 'Contained')"}
    )
    removed = await api.call("POST", path, {"Value": "CONTAINED", "Action": "Remove"})
    async with Simulator() as other, Probe.open(other) as probe:
        elsewhere = await probe.get(
            f"/machines/{DEMO_HOST}", token=other.issue_token(CONTOSO_TENANT)
        )

    assert added.status == 200
    assert added.json()["machineTags"] == ["Tier0", "Finance", "Contained"]
    assert twice.json()["machineTags"] == ["Tier0", "Finance", "Contained"]
    assert shown.json()["machineTags"] == ["Tier0", "Finance", "Contained"]
    assert [m["id"] for m in found.json()["value"]] == [DEMO_MACHINE_ID]
    assert removed.json()["machineTags"] == ["Tier0", "Finance"]
    assert elsewhere.json()["machineTags"] == ["Tier0", "Finance"]  # rows are never shared


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"Value": "x", "Action": "Toggle"}, 400, "InvalidRequestBody"),
        ({"Action": "Add"}, 400, "MissingRequiredParameter"),
        ({"value": "x", "action": "Add"}, 400, "InvalidRequestBody"),
        ({"Value": "x" * 201, "Action": "Add"}, 400, "InvalidRequestBody"),
    ],
)
async def test_bad_tag_requests_are_400(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    reply = await api.call("POST", f"/machines/{DEMO_MACHINE_ID}/tags", body)

    assert (reply.status, reply.code) == (status, code)


async def test_tagging_an_unknown_machine_is_404(api: Api) -> None:
    reply = await api.call("POST", f"/machines/{'0' * 40}/tags", {"Value": "x", "Action": "Add"})

    assert reply.status == 404


# ------------------------------------------------------------------------------------ alerts


async def test_an_alert_is_triaged_and_its_comments_accumulate(api: Api) -> None:
    path = f"/alerts/{DEMO_ALERT_IDS[0]}"
    triage = {
        "status": "Resolved",
        "assignedTo": "secop2@contoso.com",
        "classification": "TruePositive",
        "determination": "Malware",
        "comment": "Contained by the bot",
    }

    first = await api.call("PATCH", path, triage)
    api.clock.advance(60)
    second = await api.call("PATCH", path, {"comment": "Reimaged"})
    shown = (await api.call("GET", path)).json()

    assert first.status == second.status == 200
    body = first.json()
    assert {k: body[k] for k in triage if k != "comment"} == {
        k: v for k, v in triage.items() if k != "comment"
    }
    assert body["resolvedTime"] == body["lastUpdateTime"]
    assert [(c["comment"], c["createdBy"]) for c in shown["comments"]] == [
        ("Contained by the bot", APP),
        ("Reimaged", APP),
    ]
    assert shown["status"] == "Resolved"  # a comment alone changes nothing else
    assert shown["lastUpdateTime"] > body["lastUpdateTime"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"status": "Closed"}, "InvalidRequestBody"),
        ({"classification": "Benign"}, "InvalidRequestBody"),
        ({"determination": "Apt"}, "InvalidRequestBody"),  # retired in 2022
        ({"Status": "Resolved"}, "InvalidRequestBody"),
        ({"comment": ""}, "InvalidRequestBody"),
        ({}, "MissingRequiredParameter"),
    ],
)
async def test_invalid_alert_updates_are_400(api: Api, body: dict[str, Any], code: str) -> None:
    reply = await api.call("PATCH", f"/alerts/{DEMO_ALERT_IDS[0]}", body)

    assert (reply.status, reply.code) == (400, code)


async def test_updating_an_unknown_alert_is_404(api: Api) -> None:
    reply = await api.call("PATCH", "/alerts/da000000000000000000_1", {"status": "Resolved"})

    assert reply.status == 404


# ------------------------------------------------------------------------------------ indicators


async def indicators(api: Api, expression: str | None = None, **kw: Any) -> list[Row]:
    params = {"$filter": expression} if expression else None
    reply = await api.call("GET", "/indicators", params=params, **kw)
    assert reply.status == 200, reply.text
    rows: list[Row] = reply.json()["value"]
    return rows


def submission(**changes: Any) -> dict[str, Any]:
    return {
        "indicatorValue": "evil-cdn.example.com",
        "indicatorType": "DomainName",
        "action": "Block",
        "title": "C2 domain",
        "description": "Seen in incident 4711",
        **changes,
    }


async def test_the_seeded_indicators_say_what_is_already_blocked(api: Api) -> None:
    rows = await indicators(api)
    blocked = await indicators(api, f"indicatorValue eq '{DEMO_SHA256}'")

    values = {r["indicatorValue"] for r in rows}
    assert {DEMO_SHA256, AUDITED_IP} <= values
    assert DEMO_DOMAIN not in values  # expired: not active
    assert len(blocked) == 1
    assert blocked[0]["action"] == "BlockAndRemediate"
    assert blocked[0]["createdBy"] == "ir-lead@contoso.com"
    assert datetime.fromisoformat(blocked[0]["expirationTime"]) > api.clock()


async def test_an_indicator_is_created_updated_listed_and_deleted(api: Api) -> None:
    created = await api.call("POST", "/indicators", submission(severity="High"))
    again = await api.call("POST", "/indicators", submission(title="C2 domain (confirmed)"))
    listed = await indicators(api, "indicatorType eq 'DomainName' and action eq 'Block'")
    deleted = await api.call("DELETE", f"/indicators/{created.json()['id']}")
    twice = await api.call("DELETE", f"/indicators/{created.json()['id']}")

    assert created.status == 200
    body = created.json()
    assert body["createdBy"] == body["lastUpdatedBy"] == APP
    assert body["sourceType"] == "AadApp"
    assert body["creationTimeDateTimeUtc"].startswith(api.clock().strftime("%Y-%m-%dT%H:%M"))
    assert again.status == 200
    assert again.json()["id"] == body["id"]
    assert again.json()["title"] == "C2 domain (confirmed)"
    assert again.json()["severity"] == "Informational"  # a submission is a whole indicator
    assert [r["id"] for r in listed] == [body["id"]]
    assert deleted.status == 204
    assert twice.status == 404
    assert body["id"] not in {r["id"] for r in await indicators(api)}


async def test_submitting_an_expired_indicators_value_renews_it(api: Api) -> None:
    reply = await api.call("POST", "/indicators", submission(indicatorValue=DEMO_DOMAIN.upper()))

    assert reply.json()["id"] == "9003"
    assert reply.json()["expirationTime"] is None
    assert DEMO_DOMAIN in {r["indicatorValue"] for r in await indicators(api)}


async def test_an_app_with_ti_readwrite_alone_sees_only_its_own(api: Api) -> None:
    own = api.token(("Ti.ReadWrite",), client_id="narrow-app")
    await api.call("POST", "/indicators", submission(), token=own)

    mine = await indicators(api, token=own)
    theirs = await api.call("DELETE", "/indicators/9001", token=own)

    assert [r["createdBy"] for r in mine] == ["narrow-app"]
    assert theirs.status == 404


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("8.8.8.8", 200),
        ("2606:4700:4700::1111", 200),
        ("198.51.100.77", 200),  # documentation ranges count as public (the demo uses them)
        ("10.1.2.3", 400),
        ("172.16.5.4", 400),
        ("192.168.1.20", 400),
        ("100.64.0.1", 400),
        ("127.0.0.1", 400),
        ("169.254.1.1", 400),
        ("fe80::1", 400),
        ("fd00::1", 400),
        ("1.2.3.0/24", 400),
        ("1.2.3", 400),
    ],
)
async def test_ip_indicators_take_public_addresses_only(api: Api, value: str, status: int) -> None:
    body = submission(indicatorValue=value, indicatorType="IpAddress")

    reply = await api.call("POST", "/indicators", body)

    assert reply.status == status, reply.text
    if status == 400:
        assert reply.code == "InvalidIpAddress"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"indicatorType": "FileSha256", "indicatorValue": DEMO_SHA1}, "InvalidHashValue"),
        ({"indicatorType": "FileMd5", "indicatorValue": "xyz"}, "InvalidHashValue"),
        ({"indicatorType": "DomainName", "indicatorValue": "not a domain"}, "InvalidDomainName"),
        ({"indicatorType": "Url", "indicatorValue": "ftp://x.example.com/"}, "InvalidUrl"),
        ({"indicatorType": "Sha256"}, "InvalidRequestBody"),
        ({"action": "Quarantine"}, "InvalidRequestBody"),
        ({"title": None}, "MissingRequiredParameter"),
        ({"action": "Audit"}, "InvalidRequestBody"),  # Audit needs generateAlert
        ({"expirationTime": "2001-01-01T00:00:00Z"}, "InvalidRequestBody"),
        ({"severity": "Critical"}, "InvalidRequestBody"),
        ({"IndicatorValue": "x"}, "InvalidRequestBody"),
    ],
)
async def test_bad_indicators_are_400(api: Api, changes: dict[str, Any], code: str) -> None:
    body = {k: v for k, v in submission(**changes).items() if v is not None}

    reply = await api.call("POST", "/indicators", body)

    assert (reply.status, reply.code) == (400, code)


async def test_every_indicator_type_is_accepted_in_its_form(api: Api) -> None:
    values = {
        "FileSha1": DEMO_SHA1.upper(),
        "FileSha256": "a" * 64,
        "FileMd5": "b" * 32,
        "CertificateThumbprint": "c" * 40,
        "Url": "https://evil-cdn.example.com/stage2.ps1",
        "DomainName": "Evil-CDN.example.com",
    }

    replies = {
        kind: await api.call(
            "POST",
            "/indicators",
            submission(
                indicatorType=kind, indicatorValue=value, action="Audit", generateAlert=True
            ),
        )
        for kind, value in values.items()
    }

    assert {k: r.status for k, r in replies.items()} == dict.fromkeys(values, 200)
    assert replies["FileSha1"].json()["indicatorValue"] == DEMO_SHA1
    assert replies["DomainName"].json()["indicatorValue"] == "evil-cdn.example.com"
