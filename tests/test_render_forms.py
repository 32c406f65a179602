"""The response forms as Slack receives them: valid Block Kit within Slack's limits (a
checkbox group of 10, a select of 100, a title of 24 characters), hostile names escaped, and
every answer read back by `form_values` as the handlers expect it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.actions.choices import DEVICE_CHOICES
from bot.mde.normalize import device_from_machine
from bot.render.forms import (
    Pick,
    block_view,
    form_values,
    quarantine_view,
    respond_view,
    triage_view,
)
from bot.slack.buttons import FormContext, ReportForm
from tests.blockkit import assert_no_injected_markup, assert_valid_blocks
from tests.reports import machine

HOSTILE = "<!channel> ws-<https://evil.example|x>"
FORM = FormContext(c="contoso", d="a" * 40, ch="C0INCIDENT", th="1796200000.000100")
REPORT_FORM = ReportForm(r="0123456789abcdef", ch="C0INCIDENT", th="")


def views() -> list[dict[str, Any]]:
    device = device_from_machine(machine(0, computerDnsName=HOSTILE))
    many = [Pick(str(n), f"{HOSTILE} {n}") for n in range(150)]
    return [
        respond_view(
            device,
            "contoso",
            DEVICE_CHOICES,
            form=FORM,
            comment="Requested by @ana in #incident: ",
            now=None,
            notes=["Here, isolate needs a second responder's approval."],
            containment=("isolated",),
        ),
        triage_view(
            device, "contoso", many, form=FORM, comment="c: ", now=None, email="ana@contoso.com"
        ),
        block_view(
            many[:3], ["contoso", "fabrikam"], form=REPORT_FORM, comment="c: ", title="t", days=45
        ),
        quarantine_view(many[:12], form=REPORT_FORM, comment="c: ", more=2),
    ]


@pytest.mark.parametrize("view", views(), ids=["respond", "triage", "block", "quarantine"])
def test_every_form_is_valid_block_kit_within_slacks_limits(view: dict[str, Any]) -> None:
    assert_valid_blocks(view["blocks"])
    # Slack reads markup in mrkdwn only: the sections and notes (labels are plain text)
    assert_no_injected_markup([b for b in view["blocks"] if b["type"] != "input"])
    assert len(view["title"]["text"]) <= 24
    for block in view["blocks"]:
        element = block.get("element") or {}
        limit = {"checkboxes": 10, "static_select": 100}.get(element.get("type"), 1000)
        assert len(element.get("options", ())) <= limit
        assert block.get("block_id", "") == element.get("action_id", block.get("block_id", ""))


def test_the_block_forms_expiry_offers_the_configured_span_and_starts_on_it() -> None:
    view = views()[2]
    days = next(b for b in view["blocks"] if b["block_id"] == "days")["element"]
    assert "45" in [o["value"] for o in days["options"]]
    assert days["initial_option"]["value"] == "45"


def test_answers_read_back_by_input_id() -> None:
    state = {
        "values": {
            "value": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
            "tenants": {
                "tenants": {"type": "checkboxes", "selected_options": [{"value": "contoso"}]}
            },
            "title": {"title": {"type": "plain_text_input", "value": "  INC-1042  "}},
            "comment": {"comment": {"type": "plain_text_input", "value": ""}},
            "assign": {"assign": {"type": "checkboxes", "selected_options": []}},
        }
    }
    assert form_values({"state": state}) == {
        "value": "2",
        "tenants": ["contoso"],
        "title": "INC-1042",
        "assign": [],
    }
