"""JSON Schema for an event's payload, read off the dataclass's type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"}, bool: {"type": "boolean"}}


def _schema_for(tp: Any) -> dict:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if tp is type(None):
        return {"type": "null"}
    if origin in (typing.Union, types.UnionType):
        options = [_schema_for(a) for a in args]
        return {"anyOf": options}
    if origin in (list, tuple) or tp in (list, tuple):
        schema: dict = {"type": "array"}
        if args:
            schema["items"] = _schema_for(args[0])
        return schema
    if origin is dict or tp is dict:
        return {"type": "object"}
    if dataclasses.is_dataclass(tp):
        return dataclass_schema(tp)
    if getattr(tp, "__name__", "") == "UUID":
        return {"type": "string", "format": "uuid"}
    if typing.is_typeddict(tp):
        hints = typing.get_type_hints(tp)
        return {
            "type": "object",
            "properties": {k: _schema_for(v) for k, v in hints.items()},
            "required": sorted(tp.__required_keys__),
        }
    return {}


def dataclass_schema(cls, fields: list[dataclasses.Field] | None = None) -> dict:
    hints = typing.get_type_hints(cls)
    fields = fields if fields is not None else list(dataclasses.fields(cls))
    properties = {}
    required = []
    for f in fields:
        properties[f.name] = _schema_for(hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def event_payload_schema(event_cls) -> dict:
    schema = dataclass_schema(event_cls, event_cls.payload_fields())
    schema["title"] = f"{event_cls.name} v{event_cls.version}"
    if event_cls.__doc__:
        schema["description"] = " ".join(event_cls.__doc__.split())
    return schema
