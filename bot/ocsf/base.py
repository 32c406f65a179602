"""The model base every OCSF object shares, the OCSF scalar types, and `to_json`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.ocsf.enums import caption

OCSF_VERSION = "1.8.0"

# OCSF scalar types, constrained as the schema's dictionary constrains them (types/ip_t, mac_t,
# email_t, timestamp_t), so a model never holds what the schema would reject.
IP_PATTERN = (
    r"((^\s*((([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]).){3}([0-9]|[1-9][0-9]|1[0-9]{2}"
    r"|2[0-4][0-9]|25[0-5]))\s*$)|(^\s*((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]"
    r"{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|"
    r"[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|"
    r"1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:"
    r"[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|"
    r"2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:"
    r"[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"
    r"{3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25"
    r"[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]"
    r"{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|"
    r"[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:"
    r"[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"
    r"{3}))|:)))(%.+)?\s*$))"
)
IP_MAX_LEN = 40
MAC_PATTERN = r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$"
EMAIL_PATTERN = r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$"
HEX_PATTERN = r"^[a-fA-F0-9]+$"  # file_hash_t in 1.5.0 (1.8.0 dropped the regex)

Ip = Annotated[str, StringConstraints(pattern=IP_PATTERN, max_length=IP_MAX_LEN)]
Mac = Annotated[str, StringConstraints(pattern=MAC_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)]
# timestamp_t: integer milliseconds since the epoch; strict, so an ISO string is refused.
Timestamp = Annotated[int, Field(strict=True)]
Json = dict[str, Any]


_IP = re.compile(IP_PATTERN)
_MAC = re.compile(MAC_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


def is_ip(value: str) -> bool:
    """Would OCSF's `ip_t` accept it? (Its regex is loose: callers also parse the address.)"""
    return len(value) <= IP_MAX_LEN and _IP.search(value) is not None


def is_mac(value: str) -> bool:
    return _MAC.search(value) is not None


def is_email(value: str) -> bool:
    return _EMAIL.search(value) is not None


class OcsfModel(BaseModel):
    """Frozen, unknown fields refused.

    `caption_fields` maps an enum id field to its caption sibling, which is filled from the enum
    when the caller leaves it empty (for `99 Other` the caller passes the source's own text).
    `at_least_one` is OCSF's constraint of that name: an object with none of them set is refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    caption_fields: ClassVar[Mapping[str, str]] = {}
    at_least_one: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _check_and_fill(self) -> Self:
        if self.at_least_one and all(getattr(self, f) is None for f in self.at_least_one):
            raise ValueError(f"{type(self).__name__} needs one of {', '.join(self.at_least_one)}")
        for id_field, caption_field in self.caption_fields.items():
            value = getattr(self, id_field)
            if value is None or getattr(self, caption_field) is not None:
                continue
            if isinstance(value, IntEnum):
                self.__dict__[caption_field] = caption(value)
            else:  # a list of ids, e.g. malware.classification_ids → classifications
                self.__dict__[caption_field] = tuple(caption(v) for v in value)
        return self


def to_json(model: BaseModel) -> dict[str, Any]:
    """The model as OCSF JSON: no nulls, enums as their integer ids."""
    return model.model_dump(mode="json", exclude_none=True)
