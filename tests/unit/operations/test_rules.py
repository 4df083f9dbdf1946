"""Which rule feeds which consumer: matched by the consumer's queue, never by name."""

from __future__ import annotations

import pytest

from operations.rules import (
    RuleTargets,
    discover_routing,
    other_dead_letters,
    pick_filter_arns,
    rules_by_consumer,
    target_dead_letters,
)
from operations.stack import OperationsError, StackOutputs
from tests.unit.operations.stubs import Stubs, queue_arn, rule_arn

QUEUES = {"Decline": queue_arn("DeclineQueue"), "Notify": queue_arn("NotifyQueue")}
RULES = [
    RuleTargets("a", rule_arn("a"), (queue_arn("DeclineQueue"),),
                dead_letters=((queue_arn("DeclineQueue"), queue_arn("DeclineTargetDLQ")),)),
    RuleTargets("b", rule_arn("b"), (queue_arn("Other"), queue_arn("NotifyQueue"))),
    RuleTargets("archive", rule_arn("archive"), (queue_arn("NotifyQueue"),), managed_by="events"),
]  # fmt: skip


def test_rules_are_matched_by_their_targets_queue() -> None:
    assert rules_by_consumer(RULES, QUEUES) == {
        "Decline": [rule_arn("a")],
        "Notify": [rule_arn("b")],  # the managed rule is never a consumer's
    }


def test_a_rule_targets_dead_letter_queue_belongs_to_its_consumer() -> None:
    assert target_dead_letters(RULES, QUEUES) == {
        "Decline": [queue_arn("DeclineTargetDLQ")],
        "Notify": [],
    }


def test_a_consumer_whose_rule_lost_its_target_cannot_be_replayed_to() -> None:
    by_consumer = rules_by_consumer(RULES[1:], QUEUES)
    assert pick_filter_arns(["Notify"], by_consumer, QUEUES) == {"Notify": [rule_arn("b")]}
    with pytest.raises(OperationsError, match="no rule on the bus delivers to the Decline queue"):
        pick_filter_arns(["Decline", "Notify"], by_consumer, QUEUES)


def test_discovery_reads_every_page(stubs: Stubs, outputs: StackOutputs) -> None:
    stubs.routing(with_target_dlqs=True)
    routing = discover_routing(stubs.clients(), outputs)
    assert routing.by_consumer() == {
        "DeclineOtherApplications": [rule_arn("DeclineRule")],
        "NotifyAcceptedApplicant": [rule_arn("NotifyRule")],
    }
    assert routing.target_dead_letters() == {
        "DeclineOtherApplications": [queue_arn("DeclineQueueTargetDLQ")],
        "NotifyAcceptedApplicant": [queue_arn("NotifyQueueTargetDLQ")],
    }
    stubs.assert_done()


def test_dead_letter_queues_of_targets_that_are_not_a_consumers_queue() -> None:
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:events"
    rules = [
        *RULES,
        RuleTargets("log", rule_arn("log"), (log_group,),
                    dead_letters=((log_group, queue_arn("LogDLQ")),)),
    ]  # fmt: skip
    assert other_dead_letters(rules, QUEUES) == [("log", log_group, queue_arn("LogDLQ"))]
