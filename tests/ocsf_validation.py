"""Validate OCSF events offline against the official schema exports (docs/ocsf-mapping.md §7).

`ocsf-json-schema` ships schema.ocsf.io's exports for every release; it turns a class (with the
event's declared profiles) into a JSON Schema, which `jsonschema` checks. Reusable by any test:

    assert ocsf_errors(to_json(event)) == []
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

SCHEMA_VERSIONS = ("1.5.0", "1.8.0")


@cache
def _schema(version: str) -> OcsfJsonSchemaEmbedded:
    return OcsfJsonSchemaEmbedded(get_ocsf_schema(version))


@cache
def class_profiles(version: str, class_name: str) -> frozenset[str]:
    """The profiles a class may declare, per the export."""
    return frozenset(_schema(version).schema.schema["classes"][class_name].get("profiles") or ())


@cache
def _class_validator(version: str, class_name: str, profiles: tuple[str, ...]) -> Any:
    schema = _schema(version).get_class_schema(class_name, profiles=list(profiles))
    return Draft202012Validator(schema)


@cache
def _object_validator(version: str, object_name: str, profiles: tuple[str, ...]) -> Any:
    schema = _schema(version).get_object_schema(object_name, profiles=list(profiles))
    return Draft202012Validator(schema)


def _messages(validator: Any, instance: dict[str, Any]) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def class_name_of(event: dict[str, Any], version: str) -> str:
    return str(_schema(version).lookup_class_name_from_uid(event["class_uid"]))


def ocsf_errors(event: dict[str, Any], version: str | None = None) -> list[str]:
    """Every way `event` (OCSF JSON) breaks the schema of `version`; [] when it conforms.

    `version` defaults to the event's own `metadata.version`, and must match it when given. The
    schema is generated with the profiles the event declares in `metadata.profiles`, so an
    attribute of an undeclared profile is an error, and so is a profile the class lacks."""
    metadata = event.get("metadata") or {}
    declared = metadata.get("version")
    version = version or declared
    if version is None:
        return ["metadata.version: missing"]
    problems = []
    if declared != version:
        problems.append(f"metadata.version: {declared!r} is not the schema version {version!r}")
    try:
        class_name = class_name_of(event, version)
    except (KeyError, ValueError) as exc:
        return [*problems, f"class_uid: {exc}"]
    profiles = tuple(sorted(metadata.get("profiles") or ()))
    unknown = set(profiles) - class_profiles(version, class_name)
    problems.extend(
        f"metadata.profiles: {name!r} is no profile of {class_name}" for name in unknown
    )
    validator = _class_validator(
        version, class_name, tuple(p for p in profiles if p not in unknown)
    )
    return problems + _messages(validator, event)


def object_errors(
    instance: dict[str, Any], object_name: str, version: str, profiles: tuple[str, ...] = ()
) -> list[str]:
    """Like `ocsf_errors`, for one OCSF object (e.g. a `file`)."""
    return _messages(_object_validator(version, object_name, profiles), instance)
