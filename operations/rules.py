"""Which rules on the bus feed which consumer, found from the consumers' queues.

Each consumer is ``rule -> queue (+DLQ) -> function`` (``stacks.event_consumer``). The
outputs name its queue, not its rule, so the rule is found the way EventBridge itself
connects them: the rule whose target is the consumer's queue ARN (ListRules +
ListTargetsByRule). No rule name is written down anywhere, so a renamed or replaced rule
is found as it is; a rule that has lost its target (a consumer switched off by mistake)
shows up as a consumer with no rule.

The matching takes and returns plain values; the boto3 calls are the small functions at
the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from operations.stack import Clients, OperationsError, StackOutputs
from stacks.constants import Output

__all__ = [
    "Routing",
    "RuleTargets",
    "discover_routing",
    "list_rule_targets",
    "other_dead_letters",
    "pick_filter_arns",
    "queue_arn",
    "rules_by_consumer",
]


@dataclass(frozen=True)
class RuleTargets:
    """A rule on the bus and its targets."""

    name: str
    arn: str
    target_arns: tuple[str, ...]
    #: Set on rules AWS manages (the archive's own), which are never a consumer's.
    managed_by: str | None = None
    #: (target ARN, its DeadLetterConfig ARN) for the targets that have one.
    dead_letters: tuple[tuple[str, str], ...] = ()


def rules_by_consumer(
    rules: Sequence[RuleTargets], queue_arns: Mapping[str, str]
) -> dict[str, list[str]]:
    """Consumer name -> ARNs of the rules delivering to its queue (``queue_arns``: name -> ARN)."""
    found: dict[str, list[str]] = {name: [] for name in queue_arns}
    for rule in rules:
        if rule.managed_by:
            continue
        for name, arn in queue_arns.items():
            if arn in rule.target_arns:
                found[name].append(rule.arn)
    return found


def target_dead_letters(
    rules: Sequence[RuleTargets], queue_arns: Mapping[str, str]
) -> dict[str, list[str]]:
    """Consumer name -> ARNs of the DLQs of the rule targets that deliver to its queue.

    These hold the events EventBridge could not deliver to the queue (a broken queue
    policy, a deleted queue), with the ``ERROR_CODE`` EventBridge recorded.
    """
    found: dict[str, list[str]] = {name: [] for name in queue_arns}
    for rule in rules:
        for target_arn, dead_letter_arn in rule.dead_letters:
            for name, arn in queue_arns.items():
                if arn == target_arn and dead_letter_arn not in found[name]:
                    found[name].append(dead_letter_arn)
    return found


def other_dead_letters(
    rules: Sequence[RuleTargets], queue_arns: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(rule name, target ARN, DLQ ARN) of the rule targets that are not a consumer's queue.

    Such a target (a log group, say) is not one a DLQ's messages can be sent back to; its
    events are in the archive, to replay to that rule.
    """
    consumer_queues = set(queue_arns.values())
    return [
        (rule.name, target_arn, dead_letter_arn)
        for rule in rules
        for target_arn, dead_letter_arn in rule.dead_letters
        if target_arn not in consumer_queues
    ]


def pick_filter_arns(
    consumers: Sequence[str],
    by_consumer: Mapping[str, Sequence[str]],
    queue_arns: Mapping[str, str],
) -> dict[str, list[str]]:
    """The rules to replay to, per chosen consumer; an error for a consumer without one.

    A consumer whose rule has lost its target (the very thing a replay may be repairing)
    would get nothing from a replay: say so before starting one that quietly does nothing.
    """
    chosen = {}
    for name in consumers:
        arns = list(by_consumer.get(name) or [])
        if not arns:
            raise OperationsError(
                f"no rule on the bus delivers to the {name} queue ({queue_arns.get(name)}): "
                "if its target was removed, put it back first, or the replay reaches nothing"
            )
        chosen[name] = arns
    return chosen


@dataclass(frozen=True)
class Routing:
    """The bus's rules and the consumers' queue ARNs, read once."""

    rules: tuple[RuleTargets, ...]
    queue_arns: Mapping[str, str]

    def by_consumer(self) -> dict[str, list[str]]:
        return rules_by_consumer(self.rules, self.queue_arns)

    def target_dead_letters(self) -> dict[str, list[str]]:
        return target_dead_letters(self.rules, self.queue_arns)

    def other_dead_letters(self) -> list[tuple[str, str, str]]:
        return other_dead_letters(self.rules, self.queue_arns)


# -- AWS calls -----------------------------------------------------------------------------


def _paged(call: Callable[..., Any], key: str, **parameters: Any) -> list[dict[str, Any]]:
    # ListRules and ListTargetsByRule page with NextToken; one loop serves both.
    items: list[dict[str, Any]] = []
    token = None
    while True:
        answer = call(**parameters, **({"NextToken": token} if token else {}))
        items.extend(answer.get(key) or [])
        token = answer.get("NextToken")
        if not token:
            return items


def list_rule_targets(events: Any, bus_name: str) -> list[RuleTargets]:
    """Every rule on the bus with its targets (ListRules, then ListTargetsByRule per rule)."""
    rules = []
    for rule in _paged(events.list_rules, "Rules", EventBusName=bus_name):
        targets = _paged(
            events.list_targets_by_rule, "Targets", Rule=rule["Name"], EventBusName=bus_name
        )
        rules.append(
            RuleTargets(
                name=rule["Name"],
                arn=rule["Arn"],
                target_arns=tuple(target["Arn"] for target in targets),
                managed_by=rule.get("ManagedBy"),
                dead_letters=tuple(
                    (target["Arn"], target["DeadLetterConfig"]["Arn"])
                    for target in targets
                    if (target.get("DeadLetterConfig") or {}).get("Arn")
                ),
            )
        )
    return rules


def queue_arn(sqs: Any, queue_url: str) -> str:
    """A queue's ARN from its URL (GetQueueAttributes: right in every partition)."""
    answer = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(answer["Attributes"]["QueueArn"])


def discover_routing(clients: Clients, outputs: StackOutputs) -> Routing:
    """Read the bus's rules and the consumers' queue ARNs."""
    queue_arns = {c.name: queue_arn(clients.sqs, c.queue_url) for c in outputs.consumers}
    rules = list_rule_targets(clients.events, outputs.require(Output.EVENT_BUS_NAME))
    return Routing(tuple(rules), queue_arns)
