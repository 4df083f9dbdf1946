"""``python -m events_schema.catalog``: write docs/event-catalog.md from the event models.

The catalog is what a team reads before it subscribes to the bus: for every event in
``json_schema.CATALOG``, its source, detail-type and version, every field of its detail
with type and description (taken from the JSON Schema the models generate), an example,
who produces it and who consumes it. Fields, types, descriptions and versions come from
the models; producers and consumers are declared here, next to the event they route, and
a unit test checks them against the stack (``stacks/consumers.py``).

``--check`` writes nothing and exits 1 while the committed catalog is stale (for CI)::

    python -m events_schema.catalog           # rewrite docs/event-catalog.md
    python -m events_schema.catalog --check   # exit 1 if it differs from the models
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from events_schema import job_closed, job_closed_pipe
from events_schema.json_schema import CATALOG, DIRECTORY, EventSchema, render

REPO_ROOT: Final = DIRECTORY.parent
CATALOG_FILE: Final = REPO_ROOT / "docs" / "event-catalog.md"
GENERATOR: Final = "python -m events_schema.catalog"


@dataclass(frozen=True)
class Producer:
    """What puts the event on the bus, and when."""

    name: str
    where: str
    """Repository paths of the code or configuration that produce it."""
    when: str
    filter_pattern: Mapping[str, Any] | None = None
    """The EventBridge pattern a source record must match, for a pipe."""
    input_template: str | None = None
    """The template that turns the source record into the detail, for a pipe."""


@dataclass(frozen=True)
class Consumer:
    """One subscriber: an EventConsumer (rule -> queue (+DLQ) -> function) in the stack."""

    name: str
    """The EventConsumer's construct id (stacks/constants.py CONSUMERS)."""
    pattern: Mapping[str, Any]
    """Its rule's event pattern."""
    handler: str
    does: str
    """As the stack describes the function (its ``description``)."""
    duplicates: str
    """Why a redelivered or replayed event changes nothing twice."""


@dataclass(frozen=True)
class Routes:
    """Who sends an event and who receives it, plus an example detail."""

    producers: tuple[Producer, ...]
    consumers: tuple[Consumer, ...]
    example_detail: Mapping[str, Any]
    """What a producer sends; it must parse with the model and match the schema."""
    notes: tuple[str, ...] = field(default=())


# The audit trail's rule: every event whose source is one of this system's producers
# (stacks/constants.py AUDITED_SOURCE_PREFIX), whatever its type or version.
AUDITED_SOURCES: Final[Mapping[str, Any]] = {"source": [{"prefix": "babysitter."}]}

# Every event of CATALOG has an entry here (the generator refuses to run otherwise).
ROUTES: Final[Mapping[tuple[str, str], Routes]] = {
    (job_closed.SOURCE, job_closed.DETAIL_TYPE): Routes(
        producers=(
            Producer(
                name="EventBridge Pipe `JobClosed` (table stream → bus)",
                where="`stacks/events.py`, `events_schema/job_closed_pipe.py`",
                when=(
                    "the booking transaction (`services/booking/book_nanny.asl.json`) moves a "
                    "job item from OPEN to CLOSED; the pipe reads that one record of the job "
                    "item (its old and new image) and nothing else. No application code "
                    "puts this event."
                ),
                filter_pattern=job_closed_pipe.FILTER_PATTERN,
                input_template=job_closed_pipe.INPUT_TEMPLATE,
            ),
        ),
        consumers=(
            Consumer(
                name="DeclineOtherApplications",
                pattern=job_closed.EVENT_PATTERN,
                handler="services.decline_applications.handler.handler",
                does="Declines the other PENDING applications of a closed job",
                duplicates=(
                    "each decline is a conditional write PENDING → DECLINED: a second "
                    "delivery finds nothing PENDING and never overwrites ACCEPTED"
                ),
            ),
            Consumer(
                name="NotifyAcceptedApplicant",
                pattern=job_closed.EVENT_PATTERN,
                handler="services.notify_accepted_applicant.handler.handler",
                does="Notifies the booked nanny, once per job",
                duplicates=(
                    "Powertools Idempotency keyed on the job id, remembered longer than the "
                    "archive keeps events, so a redelivery or a replay does not notify again"
                ),
            ),
            Consumer(
                name="AuditTrail",
                pattern=AUDITED_SOURCES,
                handler="services.audit_trail.handler.handler",
                does="Records every event of the bus once, by id, without personal data",
                duplicates=(
                    "its item is keyed on the event's time and id and written with a "
                    "condition: a redelivery writes nothing, a replay only marks the item "
                    "replayed, once"
                ),
            ),
        ),
        example_detail={
            "metadata": {
                "version": "1",
                "correlationId": "0b9a2f4e-3c1d-4e8f-9a7b-5d6c2e1f0a93",
                "createdAt": "2027-01-04T15:02:11.482Z",
            },
            "data": {
                "jobId": "01943a6e-7c2b-7d41-8e5f-3a9b0c1d2e4f",
                "parentUsername": "parent-ann",
                "acceptedApplicationId": "01943a71-0f4d-7a8e-b1c2-6d7e8f9a0b1c",
                "acceptedApplicant": "nanny-bea",
                "closedAt": "2027-01-04T15:02:10.918Z",
            },
        },
        notes=(
            "`parentUsername` and `acceptedApplicant` are usernames, i.e. personal data: "
            "consumers log the ids and the correlation id only.",
            "`metadata.createdAt` is when the pipe made the event; `data.closedAt` is when "
            "the booking happened.",
        ),
    ),
}

_INTRODUCTION = """\
Every event on the custom event bus (`stacks/events.py`): what it means, its fields, an
example, who produces it and who consumes it. Besides its consumers, every event is kept
by the bus's archive (for replay; a replayed event carries `replay-name` in its envelope)
and written, envelope only, to the bus's event log (`stacks/observability.py`). The
architecture is in [architecture.md](architecture.md); booking and the choreography in
[events.md](events.md).

Rules every event follows (`events_schema/envelope.py`):

- the detail is an envelope: `metadata` (version, correlation id, creation time) and
  `data` (the event's own payload); camelCase on the wire;
- consumers ignore fields they do not know, so a producer may add fields to a version;
- removing, renaming or retyping a field is a breaking change: it ships as a new
  `version`; a consumer that parses the detail names the version it reads in its rule
  (`detail.metadata.version`), so a new version reaches only consumers written for it
  (the audit trail keeps only the envelope and ids, and takes every version);
- every consumer is idempotent: the bus delivers at least once, and the archive is
  replayed for recovery.

To subscribe a new consumer, add one `EventConsumer` call in `stacks/consumers.py`
([events.md](events.md#adding-a-consumer)), list it in `events_schema/catalog.py`, and run
`{generator}`.
"""


def render_catalog() -> str:
    """The catalog's exact text (stable: same models, same bytes)."""
    lines = [
        "# Event catalog",
        "",
        f"<!-- Generated by `{GENERATOR}` from events_schema/: do not edit by hand.",
        "Change the models or events_schema/catalog.py, then regenerate; a unit test fails",
        "while this file is stale. -->",
        "",
        _INTRODUCTION.format(generator=GENERATOR).rstrip(),
        "",
        "| event | source | detail-type | version | producer | consumers |",
        "|---|---|---|---|---|---|",
    ]
    for event in CATALOG:
        routes = _routes(event)
        producers = "; ".join(producer.name for producer in routes.producers)
        consumers = ", ".join(f"`{consumer.name}`" for consumer in routes.consumers)
        lines.append(
            f"| [{event.detail_type}](#{_anchor(event)}) | `{event.source}` | "
            f"`{event.detail_type}` | `{_version(event)}` | {producers} | {consumers} |"
        )
    for event in CATALOG:
        lines += ["", *_section(event)]
    return "\n".join(lines) + "\n"


def _routes(event: EventSchema) -> Routes:
    try:
        return ROUTES[(event.source, event.detail_type)]
    except KeyError:
        raise LookupError(
            f"{event.source} {event.detail_type} has no producers and consumers in "
            "events_schema/catalog.py ROUTES"
        ) from None


def _schema(event: EventSchema) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(render(event))
    return schema


def _version(event: EventSchema) -> str:
    """The version the model accepts, read from its schema's ``metadata.version`` enum."""
    schema = _schema(event)
    metadata = _resolve(schema, schema["properties"]["metadata"])
    versions = metadata["properties"]["version"].get("enum", [])
    if len(versions) != 1:
        raise ValueError(f"{event.detail_type}: metadata.version must allow one value")
    return str(versions[0])


def _anchor(event: EventSchema) -> str:
    return f"{event.detail_type.lower()}-v{_version(event)}"


def _summary(event: EventSchema) -> str:
    """The first paragraph of the model's module docstring, in Markdown."""
    module = sys.modules[event.model.__module__]
    paragraph = (module.__doc__ or event.detail_type).strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "`")


def _section(event: EventSchema) -> list[str]:
    routes = _routes(event)
    version = _version(event)
    model = f"{event.model.__module__}.{event.model.__name__}"
    example = {
        "version": "0",
        "id": "6a7e8f9a-0b1c-2d3e-4f5a-6b7c8d9e0f1a",
        "detail-type": event.detail_type,
        "source": event.source,
        "account": "123456789012",
        "time": "2027-01-04T15:02:11Z",
        "region": "us-east-1",
        "resources": [],
        "detail": routes.example_detail,
    }
    lines = [
        f"## {event.detail_type} (v{version})",
        "",
        _summary(event),
        "",
        "| | |",
        "|---|---|",
        f"| source | `{event.source}` |",
        f"| detail-type | `{event.detail_type}` |",
        f"| version | `{version}` (`detail.metadata.version`) |",
        f"| model | `{model}` |",
        f"| JSON Schema | [`events_schema/{event.file_name}`](../events_schema/{event.file_name})"
        f" (draft-04), registered as `{event.source}@{event.detail_type}` in the stack's "
        "schema registry |",
        "",
        "### Fields of `detail`",
        "",
        "| field | type | required | description |",
        "|---|---|---|---|",
    ]
    schema = _schema(event)
    for path, node, required in _leaves(schema, schema, "detail"):
        description = " ".join(str(node.get("description", "")).split())
        lines.append(
            f"| `{path}` | {_type(node)} | {'yes' if required else 'no'} | {description} |"
        )
    lines += [
        "",
        "The envelope around `detail` is EventBridge's own (`version`, `id`, `source`,",
        "`detail-type`, `account`, `time`, `region`, `resources`).",
        "",
        "### Example",
        "",
        "```json",
        _json(example),
        "```",
        "",
        "### Produced by",
        "",
    ]
    for producer in routes.producers:
        lines += [f"**{producer.name}** ({producer.where}), when {producer.when}", ""]
        if producer.filter_pattern is not None:
            lines += [
                "Filter (an EventBridge pattern over the stream record):",
                "",
                "```json",
                _json(producer.filter_pattern),
                "```",
                "",
            ]
        if producer.input_template is not None:
            lines += [
                "Input template (Pipes syntax; it becomes `detail`):",
                "",
                "```json",
                _pretty_template(producer.input_template),
                "```",
                "",
            ]
    lines += [
        "### Consumed by",
        "",
        "Each consumer is an `EventConsumer` (`stacks/event_consumer.py`): a rule on the bus",
        "→ its own encrypted SQS queue, with a dead-letter queue → a Lambda function reading",
        "batches with `ReportBatchItemFailures`. Consumers that share a rule pattern are",
        "listed under it.",
    ]
    patterns: list[Mapping[str, Any]] = []
    for consumer in routes.consumers:
        if consumer.pattern not in patterns:
            patterns.append(consumer.pattern)
    for pattern in patterns:
        lines += [
            "",
            "```json",
            _json(pattern),
            "```",
            "",
            "| consumer | function handler | does | a duplicate changes nothing because |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{consumer.name}` | `{consumer.handler}` | {consumer.does} | "
            f"{consumer.duplicates} |"
            for consumer in routes.consumers
            if consumer.pattern == pattern
        ]
    if routes.notes:
        lines += ["", "### Notes", ""]
        lines += [f"- {note}" for note in routes.notes]
    return lines


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/definitions/<Name>``)."""
    reference = node.get("$ref")
    if reference is None:
        return node
    prefix = "#/definitions/"
    if not isinstance(reference, str) or not reference.startswith(prefix):
        raise ValueError(f"unsupported $ref {reference!r}")
    resolved: Mapping[str, Any] = root["definitions"][reference.removeprefix(prefix)]
    return resolved


def _leaves(
    root: Mapping[str, Any], node: Mapping[str, Any], path: str
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """Every non-object field under ``node``, depth first, in the schema's order."""
    node = _resolve(root, node)
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        child_path = f"{path}.{name}"
        resolved = _resolve(root, child)
        if resolved.get("type") == "object" and "properties" in resolved:
            yield from _leaves(root, resolved, child_path)
        else:
            yield child_path, resolved, name in required


def _type(node: Mapping[str, Any]) -> str:
    """A field's JSON type and its constraints, in words."""
    text = str(node.get("type", "any"))
    if "format" in node:
        text += f" ({node['format']})"
    facts = []
    if "enum" in node:
        facts.append("one of " + ", ".join(f"`{json.dumps(value)}`" for value in node["enum"]))
    if node.get("minLength") == 1:
        facts.append("non-empty")
    elif "minLength" in node:
        facts.append(f"at least {node['minLength']} characters")
    if "default" in node:
        facts.append(f"default `{json.dumps(node['default'])}`")
    return ", ".join([text, *facts])


def _json(value: Any, indent: str = "") -> str:
    """JSON with one key per line, but short lists of scalars on one line (patterns)."""
    inner = indent + "  "
    if isinstance(value, Mapping) and value:
        members = [f"{inner}{json.dumps(key)}: {_json(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(item, (Mapping, list)) for item in value):
        items = [inner + _json(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value, separators=(", ", ": "))


def _pretty_template(template: str) -> str:
    """Indent a template that is JSON (ours are, placeholders sit inside strings)."""
    try:
        return _json(json.loads(template))
    except ValueError:
        return template


def stale(path: Path = CATALOG_FILE) -> bool:
    """Whether the catalog at ``path`` differs from what the models generate now."""
    return not path.exists() or path.read_text(encoding="utf-8") != render_catalog()


def write(path: Path = CATALOG_FILE) -> bool:
    """Rewrite the catalog if it is stale; return whether it was written."""
    if not stale(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_catalog(), encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed catalog is stale, write nothing"
    )
    arguments = parser.parse_args(argv)
    relative = CATALOG_FILE.relative_to(REPO_ROOT)
    if arguments.check:
        if stale():
            print(f"stale: {relative} (run `{GENERATOR}`)", file=sys.stderr)
            return 1
        return 0
    print(f"wrote {relative}" if write() else f"{relative} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
