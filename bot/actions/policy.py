"""PURE: who may ask for which response action, and which need a second responder's approval.

Who may act is separate from who may look: the bot's access list (`bot.slack.access`) says who
may use the bot at all; this says who, among them, may ask for an action of each class. An
action class is what it does to the estate:

    contain   isolate, release, restrict and unrestrict app execution, stop and quarantine
    collect   antivirus scans, investigation packages
    triage    alerts (assign, status, classification, comment) and device tags
    block     custom indicators in MDE (block, alert, audit)

Approval rules (BOT_APPROVAL_REQUIRED) name an action or a class and, optionally, the devices
they apply to: `isolate:tag=Tier0` (a device tagged Tier0), `contain:group=Servers` (a device
group), `contain:server` (a server OS), `block` or `block:*` (always). A request a rule matches
waits for a second responder of the same class; the requester never approves their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.errors import ConfigError
from bot.mde.actions import ActionKind
from bot.settings import BotSettings


class ActionClass(StrEnum):
    CONTAIN = "contain"
    COLLECT = "collect"
    TRIAGE = "triage"
    BLOCK = "block"


CLASS_OF: Mapping[ActionKind, ActionClass] = {
    ActionKind.ISOLATE: ActionClass.CONTAIN,
    ActionKind.RELEASE: ActionClass.CONTAIN,
    ActionKind.RESTRICT: ActionClass.CONTAIN,
    ActionKind.UNRESTRICT: ActionClass.CONTAIN,
    ActionKind.QUARANTINE: ActionClass.CONTAIN,
    ActionKind.SCAN: ActionClass.COLLECT,
    ActionKind.COLLECT: ActionClass.COLLECT,
    ActionKind.TAG: ActionClass.TRIAGE,
    ActionKind.TRIAGE: ActionClass.TRIAGE,
    ActionKind.BLOCK: ActionClass.BLOCK,
}


@dataclass(frozen=True, slots=True)
class Target:
    """What a device-facing rule looks at: the device's tags, its device group, its OS."""

    tags: frozenset[str] = frozenset()
    group: str | None = None
    server: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """`<action or class>[:<condition>]`, as written in BOT_APPROVAL_REQUIRED."""

    applies_to: ActionKind | ActionClass
    tag: str | None = None
    group: str | None = None
    server: bool = False

    @classmethod
    def parse(cls, text: str) -> Rule:
        """`isolate:tag=Tier0` → a Rule; ValueError says what is wrong, in words."""
        what, _, condition = text.strip().partition(":")
        name = what.strip().lower()
        applies: ActionKind | ActionClass
        if name in {c.value for c in ActionClass}:
            applies = ActionClass(name)
        elif name in {k.value for k in ActionKind}:
            applies = ActionKind(name)
        else:
            known = ", ".join([*ActionClass, *ActionKind])
            raise ValueError(f"{what.strip()!r} is not an action or a class (one of {known})")
        condition = condition.strip()
        if condition in {"", "*"}:
            return cls(applies)
        if condition.lower() == "server":
            return cls(applies, server=True)
        key, equals, value = condition.partition("=")
        if equals and value.strip() and key.strip().lower() in {"tag", "group"}:
            if key.strip().lower() == "tag":
                return cls(applies, tag=value.strip())
            return cls(applies, group=value.strip())
        raise ValueError(f"{condition!r} is not a condition (tag=NAME, group=NAME, server or *)")

    def matches(self, kind: ActionKind, target: Target) -> bool:
        if self.applies_to not in {kind, CLASS_OF[kind]}:
            return False
        if self.tag is not None:
            return self.tag.lower() in {t.lower() for t in target.tags}
        if self.group is not None:
            return target.group is not None and target.group.lower() == self.group.lower()
        if self.server:
            return target.server
        return True


@dataclass(frozen=True, slots=True)
class Responders:
    """Who may act in one class: Slack user ids (U…, W…) and user group ids (S…)."""

    users: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()

    @classmethod
    def parse(cls, ids: Iterable[str]) -> Responders:
        ids = [i.strip() for i in ids if i.strip()]
        groups = tuple(i for i in ids if i.startswith("S"))
        return cls(frozenset(i for i in ids if not i.startswith("S")), groups)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)


@dataclass(frozen=True, slots=True)
class Policy:
    responders: Mapping[ActionClass, Responders] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    approval_seconds: float = 1800.0

    def responders_of(self, kind: ActionKind) -> Responders:
        return self.responders.get(CLASS_OF[kind], Responders())

    def may_request(self, kind: ActionKind, user: str, groups: Iterable[str] = ()) -> bool:
        """Whether `user` (a member of `groups`) may ask for `kind`. Nobody, when no responder
        is configured for its class."""
        responders = self.responders_of(kind)
        return user in responders.users or bool(set(groups) & set(responders.groups))

    def needs_approval(self, kind: ActionKind, target: Target) -> bool:
        return any(rule.matches(kind, target) for rule in self.rules)

    def may_approve(
        self, kind: ActionKind, approver: str, requester: str, groups: Iterable[str] = ()
    ) -> bool:
        """A second responder of the same class: never the requester."""
        return approver != requester and self.may_request(kind, approver, groups)

    def allowed_kinds(self, user: str, groups: Iterable[str] = ()) -> frozenset[ActionKind]:
        memberships = tuple(groups)
        return frozenset(k for k in CLASS_OF if self.may_request(k, user, memberships))


_SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,20}")


def policy_from_settings(settings: BotSettings) -> Policy:
    """The policy BOT_RESPONDERS*, BOT_APPROVAL_REQUIRED and BOT_APPROVAL_MINUTES describe;
    ConfigError names the variable that is wrong."""
    everyone = list(settings.responders)
    per_class = {
        ActionClass.CONTAIN: ("BOT_RESPONDERS_CONTAIN", settings.responders_contain),
        ActionClass.COLLECT: ("BOT_RESPONDERS_COLLECT", settings.responders_collect),
        ActionClass.TRIAGE: ("BOT_RESPONDERS_TRIAGE", settings.responders_triage),
        ActionClass.BLOCK: ("BOT_RESPONDERS_BLOCK", settings.responders_block),
    }
    responders = {}
    for action_class, (variable, ids) in per_class.items():
        for value in [*everyone, *ids]:
            if not _SLACK_ID.fullmatch(value):
                name = variable if value in ids else "BOT_RESPONDERS"
                raise ConfigError(
                    f"{name}: {value!r} is not a Slack user (U…) or user group (S…) id"
                    " — see .env.example"
                )
        responders[action_class] = Responders.parse([*everyone, *ids])
    rules = []
    for text in settings.approval_required:
        try:
            rules.append(Rule.parse(text))
        except ValueError as exc:
            raise ConfigError(f"BOT_APPROVAL_REQUIRED: {exc} — see .env.example") from None
    return Policy(responders, tuple(rules), settings.approval_minutes * 60)
