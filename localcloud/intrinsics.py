"""CloudFormation intrinsic functions, resolved the way CloudFormation does at deploy time.

The local cloud deploys the synthesized template itself, so it needs what CloudFormation
does between "template" and "API call": parameters, pseudo parameters, conditions,
`Ref`/`Fn::GetAtt` to resources already created, and the string functions::

    resolver = Resolver(template, pseudo=PseudoParameters(stack_name="NannyBooking"),
                        parameters=resolve_parameters(template, {}).values,
                        resources=deployed)          # anything with ref() and get_att()
    for logical_id in deployment_order(template):
        if resolver.is_enabled(logical_id):
            properties = resolver.resolve(template["Resources"][logical_id].get("Properties", {}),
                                          f"Resources.{logical_id}.Properties")

Errors are `IntrinsicError`s whose message starts with the location
(``Resources.ApiFunction.Properties.Environment.Variables.TABLE_NAME: ...``), so the
logical id of the resource at fault is always named.

Why not a library: moto's `cloudformation/parsing.py` (`clean_json`) resolves against
moto's in-process resource models (not resources created over HTTP in a moto server and
DynamoDB Local), drops unresolvable values silently, and handles `Fn::Sub` with regular
expressions that break on quotes; cfn-lint's resolvers (`cfnlint.jsonschema._resolvers_cfn`)
enumerate *possible* values for validation and cannot resolve a `Ref` to a resource; the
cfn-flip family only converts YAML and JSON. What is needed here is small and exact.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

__all__ = [
    "NO_VALUE",
    "PSEUDO_PARAMETERS",
    "CircularDependencyError",
    "IntrinsicError",
    "PseudoParameters",
    "ResolvedParameters",
    "Resolver",
    "ResourceValues",
    "UnsupportedIntrinsicError",
    "deployment_order",
    "is_intrinsic",
    "resolve_parameters",
    "resource_dependencies",
]


class _NoValue:
    """`Ref: AWS::NoValue`: the property or list item it stands for is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

# The zones `Fn::GetAZs` answers; moto answers the same letters for every region.
_ZONE_LETTERS = ("a", "b", "c", "d", "e", "f")

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# `AWS::SSM::Parameter::Value<...>` parameters are read from SSM Parameter Store by
# CloudFormation; locally there is no SSM, so they get placeholders (see `resolve_parameters`).
_SSM_TYPE = re.compile(r"AWS::SSM::Parameter::Value<(.+)>")
_LIST_TYPES = ("CommaDelimitedList", "List<")


class IntrinsicError(ValueError):
    """A template value cannot be resolved. The message starts with its location."""


class UnsupportedIntrinsicError(IntrinsicError):
    """An intrinsic function that has no meaning locally (Fn::ImportValue, Fn::Cidr, ...)."""


class CircularDependencyError(IntrinsicError):
    """Resources (or conditions) that depend on each other in a cycle."""


def is_intrinsic(value: Any) -> bool:
    """True for `{"Ref": ...}` and `{"Fn::...": ...}` objects."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


@dataclass(frozen=True)
class PseudoParameters:
    """The values of `AWS::Region`, `AWS::AccountId`, ... (moto's default account)."""

    stack_name: str = "NannyBooking"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def stack_id(self) -> str:
        # Stable across deployments of the same stack, like a stack's id across updates.
        stack_uuid = uuid.uuid5(
            uuid.NAMESPACE_URL, f"localcloud:{self.account_id}:{self.stack_name}"
        )
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
            f"stack/{self.stack_name}/{stack_uuid}"
        )

    def value(self, name: str) -> Any:
        """The value of the pseudo parameter `name` (one of `PSEUDO_PARAMETERS`)."""
        values: dict[str, Any] = {
            "AWS::AccountId": self.account_id,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::StackId": self.stack_id,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": self.url_suffix,
        }
        return values[name]

    def availability_zones(self, region: str = "") -> list[str]:
        """What `Fn::GetAZs` answers for `region` ("" is the stack's region)."""
        return [f"{region or self.region}{letter}" for letter in _ZONE_LETTERS]


class ResourceValues(Protocol):
    """What `Ref` and `Fn::GetAtt` of a resource resolve to: the deployer's records.

    Both raise `IntrinsicError` (without a location: the resolver adds it) when the
    resource has no such value.
    """

    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


# -- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedParameters:
    """Parameter values for `Ref`, and notes on the ones that got a local placeholder."""

    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def resolve_parameters(
    template: Mapping[str, Any],
    given: Mapping[str, str] | None = None,
    pseudo: PseudoParameters | None = None,
) -> ResolvedParameters:
    """The value of each template parameter: `given`, else its Default.

    `AWS::SSM::Parameter::Value<...>` parameters without a given value resolve to a local
    placeholder instead of the SSM parameter named by their Default (there is no SSM here):
    CDK's bootstrap version becomes "6" (what `CheckBootstrapVersion` requires), a Lambda
    layer parameter a layer ARN, anything else ``local-placeholder:<ssm path>``. Each
    placeholder is listed in `notes`.

    Raises:
        IntrinsicError: an unknown parameter is given, a parameter has no value, or a
            value breaks the parameter's AllowedValues or AllowedPattern.
    """
    pseudo = pseudo or PseudoParameters()
    given = dict(given or {})
    declared = _mapping(template.get("Parameters", {}), "Parameters")
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise IntrinsicError(
            f"Parameters: {unknown} given, but the template declares no such parameter "
            f"(it declares {sorted(declared)})"
        )
    values: dict[str, Any] = {}
    notes: list[str] = []
    for name, declaration in declared.items():
        where = f"Parameters.{name}"
        spec = _mapping(declaration, where)
        kind = str(spec.get("Type", "String"))
        ssm = _SSM_TYPE.fullmatch(kind)
        if name in given:
            raw: Any = given[name]
        elif ssm is not None:
            path = str(spec.get("Default", ""))
            raw = _ssm_placeholder(name, path, ssm[1], pseudo)
            notes.append(
                f"parameter {name}: the SSM parameter {path!r} is not read locally; "
                f"resolved to the placeholder {raw!r}"
            )
            values[name] = raw
            continue
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise IntrinsicError(f"{where}: no value given and no Default")
        _check_allowed(raw, spec, where)
        values[name] = _parameter_value(raw, ssm[1] if ssm else kind, where)
    return ResolvedParameters(values, notes)


def _ssm_placeholder(name: str, path: str, value_type: str, pseudo: PseudoParameters) -> Any:
    if path.startswith("/cdk-bootstrap/") and path.endswith("/version"):
        return "6"
    if "layer" in path.lower() or "powertools" in path.lower() or "layer" in name.lower():
        layer = re.sub(r"[^A-Za-z0-9_-]+", "-", path.strip("/")) or name
        return (
            f"arn:{pseudo.partition}:lambda:{pseudo.region}:{pseudo.account_id}:"
            f"layer:{layer[:100]}:1"
        )
    placeholder = f"local-placeholder:{path or name}"
    return [placeholder] if value_type.startswith(_LIST_TYPES) else placeholder


def _check_allowed(raw: Any, spec: Mapping[str, Any], where: str) -> None:
    text = ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [str(value) for value in allowed]:
        raise IntrinsicError(f"{where}: {text!r} is not one of the AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), text) is None:
        raise IntrinsicError(f"{where}: {text!r} does not match the AllowedPattern {pattern!r}")


def _parameter_value(raw: Any, kind: str, where: str) -> Any:
    if kind.startswith(_LIST_TYPES):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(item).strip() for item in items]
    if kind == "Number":
        try:
            float(str(raw))
        except ValueError:
            raise IntrinsicError(f"{where}: {raw!r} is not a Number") from None
    # CloudFormation hands every scalar parameter to `Ref` as a string, numbers included.
    return _scalar_text(raw) if not isinstance(raw, list) else ",".join(map(str, raw))


# -- dependencies and order -------------------------------------------------------------------


def resource_dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each resource, the resources it needs first: its `DependsOn`, and every resource
    its properties (and its other attributes) name in `Ref`, `Fn::GetAtt` or `Fn::Sub` (both
    branches of an `Fn::If` count).

    Raises:
        IntrinsicError: a `DependsOn`, `Ref` or `Fn::GetAtt` names nothing the template
            declares.
    """
    resources = _mapping(template.get("Resources", {}), "Resources")
    parameters = set(_mapping(template.get("Parameters", {}), "Parameters"))
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        where = f"Resources.{logical_id}"
        body = _mapping(resource, where)
        needs: set[str] = set()
        depends_on = body.get("DependsOn", [])
        for name in [depends_on] if isinstance(depends_on, str) else depends_on:
            if name not in resources:
                raise IntrinsicError(f"{where}.DependsOn: no resource named {name!r}")
            needs.add(name)
        for key in ("Properties", "Metadata", "CreationPolicy", "UpdatePolicy"):
            if key in body:
                for name, location in _references(body[key], f"{where}.{key}"):
                    if name in resources:
                        needs.add(name)
                    elif name not in parameters and name not in PSEUDO_PARAMETERS:
                        raise IntrinsicError(f"{location}: no parameter or resource named {name!r}")
        graph[logical_id] = needs
    return graph


def deployment_order(template: Mapping[str, Any]) -> list[str]:
    """Every resource's logical id, each after the resources it depends on; among
    independent resources, template order.

    Raises:
        CircularDependencyError: resources depend on each other; the cycle is named.
        IntrinsicError: see `resource_dependencies`.
    """
    graph = resource_dependencies(template)
    position = {logical_id: index for index, logical_id in enumerate(graph)}
    waiting = {logical_id: set(needs) for logical_id, needs in graph.items()}
    dependents: dict[str, list[str]] = {logical_id: [] for logical_id in graph}
    for logical_id, needs in graph.items():
        for name in needs:
            dependents[name].append(logical_id)
    ready = sorted((lid for lid, needs in waiting.items() if not needs), key=position.__getitem__)
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for dependent in dependents[current]:
            waiting[dependent].discard(current)
            if not waiting[dependent]:
                ready.append(dependent)
        ready.sort(key=position.__getitem__)
    if len(order) < len(graph):
        left = {lid: needs for lid, needs in waiting.items() if needs}
        cycle = _find_cycle(left)
        raise CircularDependencyError(
            f"Resources: circular dependency {' -> '.join(cycle)} (through Ref, Fn::GetAtt, "
            "Fn::Sub or DependsOn)"
        )
    return order


def _find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    # Every node left has an unmet dependency, itself in the graph: walking the first one
    # from any node must come back to a node already on the path.
    start = next(iter(graph))
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = sorted(graph[current])[0]
        if current in seen:
            return [*path[seen[current] :], current]
        seen[current] = len(path)
        path.append(current)


def _references(value: Any, where: str) -> Iterable[tuple[str, str]]:
    """(name, location) of each Ref/GetAtt/Sub target inside `value`."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{where}[{index}]")
        return
    if not isinstance(value, Mapping):
        return
    if is_intrinsic(value):
        ((function, argument),) = value.items()
        at = f"{where}.{function}"
        if function == "Ref" and isinstance(argument, str):
            yield argument, at
            return
        if function == "Fn::GetAtt":
            target = _get_att_target(argument)
            if target is not None:
                yield target, at
            return
        if function == "Fn::Sub":
            yield from _sub_references(argument, at)
            return
    for key, item in value.items():
        yield from _references(item, f"{where}.{key}")


def _get_att_target(argument: Any) -> str | None:
    if isinstance(argument, str):
        return argument.split(".", 1)[0]
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        return argument[0]
    return None


def _sub_references(argument: Any, where: str) -> Iterable[tuple[str, str]]:
    variables: Any = {}
    text = argument
    if isinstance(argument, list) and len(argument) == 2:
        text, variables = argument
        if isinstance(variables, Mapping):
            yield from _references(variables, f"{where}[1]")
    if not isinstance(text, str) or not isinstance(variables, Mapping):
        return
    for match in _SUB_VARIABLE.finditer(text):
        name = match[1].strip()
        if name.startswith("!") or name in variables:
            continue
        yield name.split(".", 1)[0], where


# -- the resolver -----------------------------------------------------------------------------


class _NoResources:
    def ref(self, logical_id: str) -> Any:
        raise IntrinsicError(f"resource {logical_id} has no value here")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        raise IntrinsicError(f"resource {logical_id} has no value here")


class Resolver:
    """Resolves intrinsic functions in template values.

    Args:
        template: the whole template (Parameters, Mappings, Conditions, Resources).
        pseudo: the pseudo parameters' values.
        parameters: each parameter's value (`resolve_parameters(...).values`).
        resources: `Ref`/`Fn::GetAtt` of resources; without it, referring to a resource
            is an error.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        pseudo: PseudoParameters | None = None,
        parameters: Mapping[str, Any] | None = None,
        resources: ResourceValues | None = None,
    ) -> None:
        self._template = template
        self._pseudo = pseudo or PseudoParameters()
        self._parameters = dict(parameters or {})
        self._resources: ResourceValues = resources or _NoResources()
        self._resource_names = set(_mapping(template.get("Resources", {}), "Resources"))
        self._conditions = _mapping(template.get("Conditions", {}), "Conditions")
        self._mappings = _mapping(template.get("Mappings", {}), "Mappings")
        self._condition_values: dict[str, bool] = {}
        self._evaluating: list[str] = []
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Fn::Not": self._not,
            "Fn::GetAZs": self._get_azs,
            "Fn::Base64": self._base64,
            "Fn::FindInMap": self._find_in_map,
            "Fn::ToJsonString": self._to_json_string,
            "Fn::Length": self._length,
            "Fn::ImportValue": self._import_value,
            "Fn::Cidr": self._unsupported,
            "Fn::Transform": self._unsupported,
        }

    # -- public --------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic function replaced by its value.

        Object members and list items that resolve to `AWS::NoValue` are removed; a
        `value` that is `AWS::NoValue` itself resolves to None.

        Raises:
            IntrinsicError: the message starts with the location (`where` and the path
                inside `value`).
        """
        result = self._resolve(value, where)
        return None if result is NO_VALUE else result

    def condition(self, name: str, where: str = "Conditions") -> bool:
        """The value of the template condition `name`.

        Raises:
            CircularDependencyError: conditions refer to each other in a cycle.
            IntrinsicError: no such condition, or it is not a condition function.
        """
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self._conditions:
            raise IntrinsicError(
                f"{where}: no condition named {name!r} (the template declares "
                f"{sorted(self._conditions)})"
            )
        if name in self._evaluating:
            cycle = [*self._evaluating[self._evaluating.index(name) :], name]
            raise CircularDependencyError(
                f"Conditions.{name}: circular reference {' -> '.join(cycle)}"
            )
        self._evaluating.append(name)
        try:
            result = self._boolean(self._conditions[name], f"Conditions.{name}")
        finally:
            self._evaluating.pop()
        self._condition_values[name] = result
        return result

    def is_enabled(self, logical_id: str) -> bool:
        """False for a resource whose `Condition` is false: CloudFormation skips it."""
        resource = self._template["Resources"][logical_id]
        name = resource.get("Condition")
        if name is None:
            return True
        return self.condition(str(name), f"Resources.{logical_id}.Condition")

    # -- the walk ------------------------------------------------------------------------

    def _resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item, f"{where}[{i}]") for i, item in enumerate(value))
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key in self._functions:
                return self._functions[key](argument, f"{where}.{key}")
            if isinstance(key, str) and key.startswith("Fn::"):
                raise UnsupportedIntrinsicError(f"{where}: unknown intrinsic function {key}")
        resolved = {key: self._resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    # -- references ----------------------------------------------------------------------

    def _ref(self, argument: Any, where: str) -> Any:
        name = self._resolve(argument, where)
        if not isinstance(name, str):
            raise IntrinsicError(f"{where}: Ref takes a name, not {argument!r}")
        if name in PSEUDO_PARAMETERS:
            return self._pseudo.value(name)
        if name in self._parameters:
            return self._parameters[name]
        if name in self._resource_names:
            self._require_enabled(name, where)
            return self._from_resources(lambda: self._resources.ref(name), where)
        raise IntrinsicError(f"{where}: no parameter or resource named {name!r}")

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str) and "." in argument:
            logical_id, attribute = argument.split(".", 1)
        elif isinstance(argument, list) and len(argument) == 2:
            logical_id = argument[0]
            attribute = self._resolve(argument[1], f"{where}[1]")
        else:
            raise IntrinsicError(
                f"{where}: Fn::GetAtt takes [logicalId, attribute] or 'logicalId.attribute', "
                f"not {argument!r}"
            )
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            raise IntrinsicError(f"{where}: Fn::GetAtt takes names, not {argument!r}")
        if logical_id not in self._resource_names:
            raise IntrinsicError(f"{where}: no resource named {logical_id!r}")
        self._require_enabled(logical_id, where)
        return self._from_resources(lambda: self._resources.get_att(logical_id, attribute), where)

    def _require_enabled(self, logical_id: str, where: str) -> None:
        if not self.is_enabled(logical_id):
            raise IntrinsicError(
                f"{where}: resource {logical_id} is not created (its Condition is false)"
            )

    @staticmethod
    def _from_resources(lookup: Callable[[], Any], where: str) -> Any:
        try:
            return lookup()
        except IntrinsicError as error:
            raise type(error)(f"{where}: {error}") from None

    # -- strings and lists ---------------------------------------------------------------

    def _join(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"{where}: Fn::Join takes [delimiter, [values]]")
        delimiter = self._resolve(argument[0], f"{where}[0]")
        items = self._resolve(argument[1], f"{where}[1]")
        if not isinstance(delimiter, str):
            raise IntrinsicError(f"{where}[0]: the delimiter must be a string")
        if not isinstance(items, list):
            raise IntrinsicError(f"{where}[1]: Fn::Join needs a list, not {items!r}")
        return delimiter.join(
            _scalar_text(item, f"{where}[1][{i}]") for i, item in enumerate(items)
        )

    def _sub(self, argument: Any, where: str) -> str:
        variables: dict[str, Any] = {}
        text = argument
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], Mapping):
                raise IntrinsicError(f"{where}: Fn::Sub takes a string or [string, {{vars}}]")
            text = argument[0]
            variables = {
                str(name): self._resolve(item, f"{where}[1].{name}")
                for name, item in argument[1].items()
            }
        if not isinstance(text, str):
            raise IntrinsicError(f"{where}: Fn::Sub needs a string, not {text!r}")

        def replace(match: re.Match[str]) -> str:
            name = match[1].strip()
            if name.startswith("!"):
                return "${" + match[1][1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name:
                value = self._get_att(name, where)
            else:
                value = self._ref(name, where)
            return _scalar_text(value, f"{where} (${{{name}}})")

        return _SUB_VARIABLE.sub(replace, text)

    def _select(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"{where}: Fn::Select takes [index, [values]]")
        index = self._resolve(argument[0], f"{where}[0]")
        items = self._resolve(argument[1], f"{where}[1]")
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise IntrinsicError(f"{where}[0]: the index must be a number, not {index!r}") from None
        if not isinstance(items, list):
            raise IntrinsicError(f"{where}[1]: Fn::Select needs a list, not {items!r}")
        if not 0 <= position < len(items):
            raise IntrinsicError(
                f"{where}: index {position} is out of range for a list of {len(items)}"
            )
        return items[position]

    def _split(self, argument: Any, where: str) -> list[str]:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"{where}: Fn::Split takes [delimiter, string]")
        delimiter = self._resolve(argument[0], f"{where}[0]")
        text = self._resolve(argument[1], f"{where}[1]")
        if not isinstance(delimiter, str) or not delimiter:
            raise IntrinsicError(f"{where}[0]: the delimiter must be a non-empty string")
        if not isinstance(text, str):
            raise IntrinsicError(f"{where}[1]: Fn::Split needs a string, not {text!r}")
        return text.split(delimiter)

    def _get_azs(self, argument: Any, where: str) -> list[str]:
        region = self._resolve(argument, where)
        if not isinstance(region, str):
            raise IntrinsicError(f"{where}: Fn::GetAZs takes a region name or ''")
        return self._pseudo.availability_zones(region)

    def _base64(self, argument: Any, where: str) -> str:
        text = self._resolve(argument, where)
        if not isinstance(text, str):
            raise IntrinsicError(f"{where}: Fn::Base64 needs a string, not {text!r}")
        return base64.b64encode(text.encode()).decode()

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) in (3, 4)):
            raise IntrinsicError(f"{where}: Fn::FindInMap takes [map, key, key(, default)]")
        names = [self._resolve(item, f"{where}[{i}]") for i, item in enumerate(argument[:3])]
        node: Any = self._mappings
        for name in names:
            if not isinstance(node, Mapping) or name not in node:
                if len(argument) == 4 and isinstance(argument[3], Mapping):
                    return self._resolve(argument[3].get("DefaultValue"), f"{where}[3]")
                raise IntrinsicError(f"{where}: Mappings has no {'.'.join(map(str, names))}")
            node = node[name]
        return node

    def _to_json_string(self, argument: Any, where: str) -> str:
        return json.dumps(self._resolve(argument, where), separators=(",", ":"))

    def _length(self, argument: Any, where: str) -> int:
        items = self._resolve(argument, where)
        if not isinstance(items, list):
            raise IntrinsicError(f"{where}: Fn::Length needs a list, not {items!r}")
        return len(items)

    def _import_value(self, argument: Any, where: str) -> Any:
        raise UnsupportedIntrinsicError(
            f"{where}: Fn::ImportValue {argument!r}: the local cloud deploys one stack, so no "
            "other stack's exports exist; pass the value as a parameter instead"
        )

    def _unsupported(self, argument: Any, where: str) -> Any:
        function = where.rsplit(".", 1)[-1]
        raise UnsupportedIntrinsicError(f"{where}: {function} is not supported by the local cloud")

    # -- conditions ----------------------------------------------------------------------

    def _if(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise IntrinsicError(f"{where}: Fn::If takes [condition, value if true, if false]")
        name, when_true, when_false = argument
        if not isinstance(name, str):
            raise IntrinsicError(f"{where}[0]: Fn::If takes a condition name, not {name!r}")
        if self.condition(name, f"{where}[0]"):
            return self._resolve(when_true, f"{where}[1]")
        return self._resolve(when_false, f"{where}[2]")

    def _equals(self, argument: Any, where: str) -> bool:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise IntrinsicError(f"{where}: Fn::Equals takes [value, value]")
        left, right = (self._resolve(item, f"{where}[{i}]") for i, item in enumerate(argument))
        return bool(_comparable(left) == _comparable(right))

    def _and(self, argument: Any, where: str) -> bool:
        values = self._condition_list(argument, where, "Fn::And")
        return all(values)

    def _or(self, argument: Any, where: str) -> bool:
        values = self._condition_list(argument, where, "Fn::Or")
        return any(values)

    def _not(self, argument: Any, where: str) -> bool:
        if not (isinstance(argument, list) and len(argument) == 1):
            raise IntrinsicError(f"{where}: Fn::Not takes [condition]")
        return not self._boolean(argument[0], f"{where}[0]")

    def _condition_list(self, argument: Any, where: str, function: str) -> list[bool]:
        if not (isinstance(argument, list) and 2 <= len(argument) <= 10):
            raise IntrinsicError(f"{where}: {function} takes 2 to 10 conditions")
        # Every operand is evaluated (no short cut), so an invalid one is always reported.
        return [self._boolean(item, f"{where}[{i}]") for i, item in enumerate(argument)]

    def _boolean(self, value: Any, where: str) -> bool:
        """A condition operand: a condition function, or {"Condition": name}."""
        if isinstance(value, Mapping) and set(value) == {"Condition"}:
            name = value["Condition"]
            if not isinstance(name, str):
                raise IntrinsicError(f"{where}.Condition: takes a condition name, not {name!r}")
            return self.condition(name, f"{where}.Condition")
        result = self._resolve(value, where)
        if isinstance(result, bool):
            return result
        if isinstance(result, str) and result.lower() in ("true", "false"):
            return result.lower() == "true"
        raise IntrinsicError(
            f"{where}: expected a condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not or "
            f"Condition), not {value!r}"
        )


# -- helpers ----------------------------------------------------------------------------------


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise IntrinsicError(f"{where}: must be an object, not {value!r}")
    return value


def _scalar_text(value: Any, where: str = "value") -> str:
    """A value as CloudFormation puts it into a string: numbers and booleans as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise IntrinsicError(f"{where}: expected a string, not {value!r}")


def _comparable(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return _scalar_text(value)
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value
