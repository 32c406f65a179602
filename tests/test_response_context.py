"""What a lookup tells a responder about the actions already taken, while response actions
are on: a device's containment (isolated, apps restricted, a change under way), read from its
machine actions in one batched call, and the custom indicators MDE already holds for a pasted
value (so nobody blocks it twice). Against the simulator over real HTTPS, on a clock the test
holds; off, neither costs a call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import render
from bot.demo.simulator import ManualClock, Simulator
from bot.demo.simulator import data as d
from bot.enrichment.results import Report
from bot.enrichment.service import EnrichmentService
from bot.enrichment.verdicts import verdicts
from bot.indicators import Extraction, Indicator, IndicatorType
from bot.mde import actions
from bot.mde.client import MdeClient
from bot.mde.models import MachineAction
from bot.render.cards import verdict_said
from bot.render.text import blocks_to_text
from tests.reports import IP, alert, check_message_is_safe, connector, device_result, machine
from tests.test_mde_actions import open_client

COMMENT = "Contain it (INC-1042) [mde-bot 3f2a9c1e]"


def action(kind: str, status: str, minute: int, scope: str | None = None) -> MachineAction:
    return MachineAction.model_validate(
        {
            "id": f"00000000-0000-4000-8000-{minute:012d}",
            "type": kind,
            "status": status,
            "scope": scope,
            "creationDateTimeUtc": f"2026-11-30T10:{minute:02d}:00Z",
        }
    )


@pytest.mark.parametrize(
    ("history", "said"),
    [
        ([], ()),
        ([action("RunAntiVirusScan", "Succeeded", 5)], ()),
        ([action("Isolate", "Succeeded", 5, "Full")], ("isolated",)),
        ([action("Isolate", "Succeeded", 5, "Selective")], ("isolated (selective)",)),
        ([action("Isolate", "Failed", 5)], ()),
        ([action("Isolate", "Pending", 5)], ("isolation pending",)),
        (
            [action("Unisolate", "InProgress", 9), action("Isolate", "Succeeded", 5)],
            ("isolated", "release pending"),
        ),
        ([action("Unisolate", "Succeeded", 9), action("Isolate", "Succeeded", 5)], ()),
        (
            [action("Unisolate", "Failed", 9), action("Isolate", "Succeeded", 5)],
            ("isolated",),
        ),
        (
            [action("RestrictCodeExecution", "Succeeded", 7), action("Isolate", "Succeeded", 5)],
            ("isolated", "apps restricted"),
        ),
        (
            [
                action("UnrestrictCodeExecution", "Cancelled", 8),
                action("RestrictCodeExecution", "Succeeded", 7),
            ],
            ("apps restricted",),
        ),
    ],
)
def test_containment_is_what_the_newest_successful_action_left(
    history: list[MachineAction], said: tuple[str, ...]
) -> None:
    assert actions.containment(history) == said


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


def ip_lookup() -> Extraction:
    return Extraction((Indicator(IndicatorType.IPV4, d.DEMO_IP),))


async def test_an_isolated_device_says_so_on_its_card_and_a_pending_release_too(
    sim: Simulator, clock: ManualClock, client: MdeClient
) -> None:
    service = EnrichmentService([client], responding=True)
    before = await service.lookup(ip_lookup())
    assert before.connectors[0].devices[0].containment == ()

    await actions.isolate(client, d.DEMO_MACHINE_ID, comment=COMMENT, selective=False)
    clock.advance(sim.knobs.action_pickup + sim.knobs.action_run)
    isolated = await service.lookup(ip_lookup())
    device = next(r for r in isolated.connectors[0].devices if r.device.uid == d.DEMO_MACHINE_ID)
    assert device.containment == ("isolated",)

    await actions.release(client, d.DEMO_MACHINE_ID, comment=COMMENT)
    releasing = await service.device_report(d.DEMO_MACHINE_ID)
    assert releasing.connectors[0].devices[0].containment == ("isolated", "release pending")


async def test_with_actions_off_a_lookup_reads_no_machine_actions(
    sim: Simulator, client: MdeClient
) -> None:
    on, off = EnrichmentService([client], responding=True), EnrichmentService([client])
    sim.reset_counters()
    await off.lookup(ip_lookup())
    quiet = sim.calls["*"]
    client.cache.clear()  # the same lookup again, asked of MDE again
    sim.reset_counters()
    await on.lookup(ip_lookup())
    assert sim.calls["*"] == quiet + 1  # one batched machine-actions call for the shown devices


async def test_a_value_mde_already_blocks_says_who_blocked_it_and_until_when(
    client: MdeClient,
) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    await actions.submit_indicator(
        client,
        value=d.DEMO_SHA1.upper(),  # MDE keeps it as submitted; pasted ones are lower-case
        kind=IndicatorType.SHA1,
        action="Block",
        title="INC-1042 payload",
        description=COMMENT,
        expires=expires,
    )
    pasted = Extraction(
        (
            Indicator(IndicatorType.SHA1, d.DEMO_SHA1),
            Indicator(IndicatorType.DOMAIN, "payroll-sync.com"),
        )
    )
    report = await EnrichmentService([client], responding=True).lookup(pasted)
    blocked, other = verdicts(report)
    assert [(tenant, held.action) for tenant, held in blocked.held] == [("contoso", "Block")]
    assert blocked.held[0][1].expires == int(expires.timestamp())
    said = verdict_said(blocked, now=report.at)
    assert "🛡️ Blocked in contoso (by " in said
    assert f"<!date^{int(expires.timestamp())}^" in said
    assert other.held == ()
    assert "🛡️" not in verdict_said(other, now=report.at)

    plain = await EnrichmentService([client]).lookup(pasted)
    assert all(not v.held for v in verdicts(plain))


def test_a_contained_device_card_says_it_on_its_second_line() -> None:
    found = replace(
        device_result(machine(0), [alert(1)]), containment=("isolated", "app restriction pending")
    )
    report = Report((IP,), (connector(devices=(found,)),), at=1_764_000_000_000)
    message = render.report_message(report)
    check_message_is_safe(message)
    card = next(line for line in blocks_to_text(message.blocks).splitlines() if "🔒" in line)
    assert "🔒 isolated · ⏳ app restriction pending" in card  # on the line under its name
    assert "🔒 *isolated*" in str(message.blocks)  # in bold
