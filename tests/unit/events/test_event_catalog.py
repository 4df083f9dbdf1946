"""docs/event-catalog.md: generated from events_schema/, and true to the stack."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest

from events_schema import DETAIL_TYPE, SOURCE, catalog
from events_schema.catalog import ROUTES, main, render_catalog, stale, write
from events_schema.job_closed import EVENT_PATTERN
from events_schema.json_schema import CATALOG
from stacks.constants import CONSUMERS


def test_the_committed_catalog_is_generated_from_the_models() -> None:
    assert not stale(), "stale docs/event-catalog.md: run `python -m events_schema.catalog`"
    assert main(["--check"]) == 0


def test_generation_is_stable() -> None:
    assert render_catalog() == render_catalog()


def test_check_fails_on_a_stale_catalog_and_write_repairs_it(tmp_path) -> None:
    path = tmp_path / "event-catalog.md"
    assert stale(path)
    assert write(path)
    assert not stale(path)
    assert not write(path)  # already up to date
    path.write_text(path.read_text(encoding="utf-8").replace("JobClosed", "JobOpened"))
    assert stale(path)


def test_every_event_on_the_bus_is_in_the_catalog() -> None:
    assert {(event.source, event.detail_type) for event in CATALOG} == set(ROUTES)
    text = render_catalog()
    for event in CATALOG:
        assert f"`{event.source}`" in text
        assert f"## {event.detail_type} (v" in text


@pytest.mark.parametrize("event", CATALOG, ids=lambda event: event.detail_type)
def test_each_field_of_the_schema_is_documented(event) -> None:
    text = render_catalog()
    schema = json.loads(event.path.read_text(encoding="utf-8"))
    for definition in schema.get("definitions", {}).values():
        for name, field in definition.get("properties", {}).items():
            assert f".{name}` |" in text
            assert " ".join(field["description"].split()) in text


@pytest.mark.parametrize("event", CATALOG, ids=lambda event: event.detail_type)
def test_the_example_is_what_producers_send(event) -> None:
    example = dict(ROUTES[(event.source, event.detail_type)].example_detail)
    schema = json.loads(event.path.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(example)
    event.model.model_validate(example)


@pytest.fixture(scope="module")
def stack_consumers() -> dict[str, dict[str, object]]:
    """Each EventConsumer of the stack's Consumers construct, as CDK renders it: its rule's
    pattern and its function's handler and description (built in memory, not synthesized)."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_events as events

    from stacks.consumers import Consumers

    stack = Stack(App(), "CatalogCheck")
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    consumers = Consumers(stack, "Consumers", bus=events.EventBus(stack, "Bus"), table=table)
    rendered = {}
    for consumer in consumers.all:
        rule = consumer.rule.node.default_child
        function = consumer.function.node.default_child
        rendered[consumer.name] = {
            "pattern": stack.resolve(rule.event_pattern),  # type: ignore[union-attr]
            "handler": function.handler,  # type: ignore[union-attr]
            "description": function.description,  # type: ignore[union-attr]
        }
    return rendered


def test_the_consumers_are_the_stacks(stack_consumers) -> None:
    """Every EventConsumer of the stack is listed, with its rule, handler and description."""
    listed = {
        consumer.name: consumer for routes in ROUTES.values() for consumer in routes.consumers
    }
    assert sorted(listed) == sorted(CONSUMERS) == sorted(stack_consumers)
    for name, consumer in listed.items():
        assert stack_consumers[name] == {
            "pattern": consumer.pattern,
            "handler": consumer.handler,
            "description": consumer.does,
        }, name


def test_only_consumers_whose_rule_matches_the_event_are_listed() -> None:
    for (source, detail_type), routes in ROUTES.items():
        for consumer in routes.consumers:
            assert matches(consumer.pattern, source, detail_type), consumer.name


def matches(pattern: Mapping[str, Any], source: str, detail_type: str) -> bool:
    """Whether a rule's pattern admits the event's source and detail-type (the two
    patterns the stack uses: exact values, or a source prefix)."""

    def admits(values: list[Any], value: str) -> bool:
        return any(
            value.startswith(wanted["prefix"]) if isinstance(wanted, dict) else value == wanted
            for wanted in values
        )

    return admits(pattern.get("source", [source]), source) and admits(
        pattern.get("detail-type", [detail_type]), detail_type
    )


def test_the_job_closed_consumers_subscribe_to_version_1() -> None:
    consumers = ROUTES[(SOURCE, DETAIL_TYPE)].consumers
    readers = [consumer for consumer in consumers if consumer.pattern == EVENT_PATTERN]
    assert {consumer.name for consumer in readers} == {
        "DeclineOtherApplications",
        "NotifyAcceptedApplicant",
    }


def test_a_missing_route_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(catalog, "ROUTES", {})
    with pytest.raises(LookupError, match="ROUTES"):
        render_catalog()
