"""CloudFormation properties -> boto3 request parameters, driven by botocore's API models.

Most resource properties are the create call's parameters under the same names (in the
API's case: CloudFormation writes ``LoggingConfiguration``, Step Functions' API
``loggingConfiguration``). Converting along the operation's input shape does the rest
CloudFormation does implicitly: numbers written as strings become integers, an
``EventPattern`` object becomes the JSON string the API takes, booleans in string maps
become ``"true"``::

    params, notes = api_parameters("cognito-idp", "CreateUserPool", properties,
                                   renames={"UserPoolName": "PoolName"}, where="...")

Properties the operation has no parameter for are left out and named in `notes`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import botocore.session

__all__ = ["ParameterError", "api_parameters", "convert"]


class ParameterError(ValueError):
    """A property value does not fit the API parameter it maps to."""


@functools.cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def _input_shape(service: str, operation: str) -> Any:
    return _service_model(service).operation_model(operation).input_shape


def api_parameters(
    service: str,
    operation: str,
    properties: Mapping[str, Any],
    *,
    where: str,
    renames: Mapping[str, str] | None = None,
    skip: frozenset[str] | set[str] = frozenset(),
) -> tuple[dict[str, Any], list[str]]:
    """`properties` as the keyword arguments of `service`'s `operation`.

    Args:
        where: the properties' location in the template, for error messages.
        renames: property name -> parameter name, where they differ by more than case.
        skip: properties the caller handles itself (neither converted nor noted).

    Returns:
        The parameters, and a note per property left out (named by its path).

    Raises:
        ParameterError: a value cannot be converted to its parameter's type.
    """
    names = dict(renames or {})
    renamed = {
        names.get(name, name): value for name, value in properties.items() if name not in skip
    }
    walk = _Walk(where, f"not a parameter of {operation}")
    params = walk.structure(renamed, _input_shape(service, operation), "")
    return params, walk.notes


def convert(service: str, operation: str, member: str, value: Any, *, where: str) -> Any:
    """`value` converted to the type of `operation`'s top-level parameter `member`."""
    shape = _input_shape(service, operation).members[member]
    return _Walk(where, f"not a field of {operation}.{member}").convert(value, shape, "")


class _Walk:
    def __init__(self, where: str, missing: str) -> None:
        self.where = where
        self.missing = missing
        self.notes: list[str] = []

    def _at(self, path: str) -> str:
        return f"{self.where}{'.' if path and not path.startswith('[') else ''}{path}"

    def structure(self, value: Any, shape: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ParameterError(f"{self._at(path)}: expected an object, not {value!r}")
        by_lower = {name.lower(): name for name in shape.members}
        result: dict[str, Any] = {}
        for name, item in value.items():
            at = f"{path}.{name}" if path else str(name)
            member = by_lower.get(str(name).lower())
            if member is None:
                self.notes.append(f"{at}: not applied locally ({self.missing})")
                continue
            result[member] = self.convert(item, shape.members[member], at)
        return result

    def convert(self, value: Any, shape: Any, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(value, shape, path)
        if kind == "list":
            if not isinstance(value, list):
                raise ParameterError(f"{self._at(path)}: expected a list, not {value!r}")
            return [
                self.convert(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)
            ]
        if kind == "map":
            if not isinstance(value, Mapping):
                raise ParameterError(f"{self._at(path)}: expected an object, not {value!r}")
            return {
                str(key): self.convert(item, shape.value, f"{path}.{key}")
                for key, item in value.items()
            }
        if kind == "string":
            return _string(value)
        if kind in ("integer", "long"):
            return _number(value, int, self._at(path))
        if kind in ("float", "double"):
            return _number(value, float, self._at(path))
        if kind == "boolean":
            return _boolean(value, self._at(path))
        return value  # timestamp, blob: as written


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        # CloudFormation accepts JSON documents (patterns, policies) as objects.
        return json.dumps(value)
    return str(value)


def _number(value: Any, kind: type[int] | type[float], where: str) -> Any:
    if isinstance(value, bool):
        raise ParameterError(f"{where}: expected a number, not {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{where}: expected a number, not {value!r}") from None


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ParameterError(f"{where}: expected true or false, not {value!r}")
