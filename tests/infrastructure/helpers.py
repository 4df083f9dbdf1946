"""Small readers over the template JSON, so assertions can name real values."""

from typing import Any

Resources = dict[str, dict[str, Any]]


def of_type(resources: Resources, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}


def only(resources: Resources, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type, as (logical id, properties)."""
    found = of_type(resources, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, resource.get("Properties", {})


def get_att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
