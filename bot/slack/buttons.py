"""PURE: stable action ids and the small typed payloads buttons carry.

A button's value holds ids only (a connector alias and a device id, or the opaque id of a posted
report), never data the bot would trust. Every click is parsed back through these models, which
reject anything malformed, and the handler re-authorizes the user who clicked.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import InputError


class ActionId(StrEnum):
    DEVICE_MENU = "mde_device_menu"  # a device card's overflow menu: the choices below
    DEVICE_ALERTS = "mde_device_alerts"
    DEVICE_DETAILS = "mde_device_details"
    DEVICE_OCSF = "mde_device_ocsf"
    SHOW_ALL = "mde_show_all"
    OPEN_PORTAL = "mde_open_portal"  # a link: Slack still reports the click
    RESPOND = "mde_respond"  # a device menu's "Respond…": opens the response form
    TRIAGE = "mde_triage"  # a device's alerts: "Triage an alert…"
    BLOCK = "mde_block"  # a lookup's "Block…": a pasted value as a custom indicator
    QUARANTINE = "mde_quarantine"  # a lookup's "Quarantine…": a file on the devices it was on
    APPROVE = "mde_action_approve"  # a request's buttons in its thread
    REJECT = "mde_action_reject"
    CANCEL = "mde_action_cancel"


# The response forms' callback ids (`bot.render.forms`).
RESPOND_VIEW = "mde_respond_view"
TRIAGE_VIEW = "mde_triage_view"
BLOCK_VIEW = "mde_block_view"
QUARANTINE_VIEW = "mde_quarantine_view"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceRef(_Payload):
    c: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")  # connector alias
    d: str = Field(pattern=r"^[0-9a-f]{40}$")  # MDE device id


class DeviceChoice(DeviceRef):
    """An option of a device card's menu: what to show (`a`), for which device."""

    a: ActionId


class ReportRef(_Payload):
    r: str = Field(pattern=r"^[0-9a-f]{16}$")  # a posted report's id


class RequestRef(_Payload):
    q: str = Field(pattern=r"^[0-9a-f]{16}$")  # an action request's id


class FormContext(DeviceRef):
    """What the response form carries (`private_metadata`): the device, and where the card it
    was opened from lives (its channel and thread), so the request is posted there."""

    ch: str = Field(pattern=r"^[CGD][A-Z0-9]{2,20}$")
    th: str = Field(pattern=r"^(\d{1,12}\.\d{1,8})?$")


class ReportForm(ReportRef):
    """What a form opened from a lookup carries: the posted report, and where it lives."""

    ch: str = Field(pattern=r"^[CGD][A-Z0-9]{2,20}$")
    th: str = Field(pattern=r"^(\d{1,12}\.\d{1,8})?$")


P = TypeVar("P", bound=_Payload)


def encode(payload: _Payload) -> str:
    return json.dumps(payload.model_dump(), separators=(",", ":"))


def decode(kind: type[P], value: object) -> P:
    """The payload a button carried; `InputError` for anything we did not put there."""
    try:
        return kind.model_validate_json(str(value))
    except ValidationError:
        raise InputError("this button is not valid any more", hint="run the lookup again") from None
