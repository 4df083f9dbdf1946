"""Deliver an event to one rule target, as EventBridge does, by the target's ARN.

| target ARN                                   | delivery                                       |
|----------------------------------------------|------------------------------------------------|
| ``arn:aws:sqs:…:queue``                      | SendMessage (``SqsParameters.MessageGroupId``) |
| ``arn:aws:sns:…:topic``                      | Publish                                        |
| ``arn:aws:lambda:…:function:name[:alias]``   | ``invoke_function(name, event)``, asynchronous  |
| ``arn:aws:states:…:stateMachine:name``       | StartExecution                                 |
| ``arn:aws:logs:…:log-group:name``            | CreateLogStream + PutLogEvents                 |
| ``arn:aws:events:…:event-bus/name``          | the event, put on that bus                     |

SQS, SNS, Step Functions and log groups are moto's, called at once, so a message is in
its queue when PutEvents answers (moto did the same for SQS). Lambda targets are invoked
asynchronously (``InvocationType=Event`` in AWS) on a small thread pool, as a function may
take long. A failed delivery goes to the target's ``DeadLetterConfig`` queue if it has one,
with the ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE`` and ``ERROR_MESSAGE`` attributes
EventBridge sets; otherwise it is logged. There are no delayed retries: locally a failure
is a missing queue or a crashing function, which retrying does not mend.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final

import urllib3

from localcloud.edge.backend import AwsError, CallContext, MotoClient
from localcloud.edge.target_input import TemplateError, render_target_input
from localcloud.event_pattern import EventPattern

__all__ = ["InvokeFunction", "PutOnBus", "Rule", "TargetDelivery", "parse_arn"]

log = logging.getLogger(__name__)

InvokeFunction = Callable[[str, Any], None]
"""``invoke_function(function_name, event)``: run a Lambda function asynchronously."""

PutOnBus = Callable[[CallContext, str, dict[str, Any], int], None]
"""``put_on_bus(context, bus_name, event, depth)``: an event-bus target's delivery."""

OnDelivery = Callable[[str, str], None]
"""``on_delivery(service, operation)``: a call made to a target's service (accounting)."""

# Buses may target buses; AWS stops such chains, and so must we, or a loop never ends.
MAX_BUS_HOPS: Final = 5


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN: ``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(arn: str) -> Arn | None:
    """Split ``arn``; None if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])


@dataclass(frozen=True)
class Rule:
    """A rule as ListRules gives it, its pattern compiled."""

    name: str
    arn: str
    event_bus_name: str
    state: str
    pattern: EventPattern | None
    managed_by: str | None = None

    @property
    def routes_events(self) -> bool:
        """Enabled, with a pattern, and not an archive's own rule (the router archives)."""
        return (
            self.state.startswith("ENABLED")
            and self.pattern is not None
            and not self.name.startswith("Events-Archive-")
        )

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the rule routes ``event`` to its targets."""
        return self.routes_events and self.pattern is not None and self.pattern.matches(event)


class TargetDelivery:
    """Sends events to targets; see the module's table.

    Args:
        moto: calls to moto.
        executor: runs Lambda invocations.
        invoke_function: the Lambda runner; None drops Lambda deliveries with a warning.
        put_on_bus: delivers an event-bus target's events.
        on_delivery: told of each call made to a target's service, e.g. ``("sqs",
            "SendMessage")``: in AWS each is a request to that service.
    """

    def __init__(
        self,
        moto: MotoClient,
        executor: Executor,
        *,
        invoke_function: InvokeFunction | None,
        put_on_bus: PutOnBus,
        on_delivery: OnDelivery | None = None,
    ) -> None:
        self.moto = moto
        self.executor = executor
        self.invoke_function = invoke_function
        self.put_on_bus = put_on_bus
        self.on_delivery = on_delivery

    def _delivered(self, service: str, operation: str) -> None:
        if self.on_delivery is not None:
            self.on_delivery(service, operation)

    def deliver(
        self,
        context: CallContext,
        rule: Rule,
        target: Mapping[str, Any],
        event: dict[str, Any],
        *,
        ingestion_time: float,
        depth: int = 0,
    ) -> None:
        """Send ``event`` to ``target`` of ``rule``; failures go to its DLQ or the log."""
        arn = parse_arn(str(target.get("Arn", "")))
        if arn is None:
            log.warning("rule %s: target %s has no valid ARN", rule.name, target.get("Id"))
            return
        here = CallContext(arn.region or context.region, context.access_key)
        try:
            if arn.service == "events" and arn.resource.startswith("event-bus/"):
                if depth >= MAX_BUS_HOPS:
                    raise AwsError("LoopDetected", f"more than {MAX_BUS_HOPS} bus-to-bus hops")
                self.put_on_bus(here, arn.resource.removeprefix("event-bus/"), event, depth + 1)
                self._delivered("events", "PutEvents")
                return
            text = render_target_input(
                target,
                event,
                rule_arn=rule.arn,
                rule_name=rule.name,
                ingestion_time=ingestion_time,
            )
            if arn.service == "lambda":
                self._invoke_later(here, rule, target, event, arn, text)
            else:
                self._send(here, target, arn, text)
        except (AwsError, TemplateError, urllib3.exceptions.HTTPError, OSError) as error:
            self._failed(here, rule, target, event, error)

    def _send(self, context: CallContext, target: Mapping[str, Any], arn: Arn, text: str) -> None:
        if arn.service == "sqs":
            message: dict[str, Any] = {"QueueUrl": self._queue_url(arn), "MessageBody": text}
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group:
                message["MessageGroupId"] = group
            self.moto.json(context, "sqs", "SendMessage", message)
            self._delivered("sqs", "SendMessage")
        elif arn.service == "sns":
            self.moto.query(
                context, "sns", "Publish", {"TopicArn": _arn_text(arn), "Message": text}
            )
            self._delivered("sns", "Publish")
        elif arn.service == "states":
            self.moto.json(
                context,
                "states",
                "StartExecution",
                {"stateMachineArn": _arn_text(arn), "input": text, "name": uuid.uuid4().hex},
            )
            self._delivered("states", "StartExecution")
        elif arn.service == "logs":
            group = arn.resource.removeprefix("log-group:").removesuffix(":*")
            stream = uuid.uuid4().hex
            # Log groups are not deployed locally (not emulated); the group a rule writes to
            # is made on its first event, so the delivery works as it does in AWS.
            with contextlib.suppress(AwsError):
                self.moto.json(context, "logs", "CreateLogGroup", {"logGroupName": group})
            self.moto.json(
                context, "logs", "CreateLogStream", {"logGroupName": group, "logStreamName": stream}
            )
            self.moto.json(
                context,
                "logs",
                "PutLogEvents",
                {
                    "logGroupName": group,
                    "logStreamName": stream,
                    "logEvents": [{"timestamp": int(time.time() * 1000), "message": text}],
                },
            )
            # One delivery: the stream made for each event is how the router writes it.
            self._delivered("logs", "PutLogEvents")
        else:
            raise AwsError(
                "UnsupportedTarget", f"the local cloud delivers no {arn.service} targets"
            )

    def _invoke_later(
        self,
        context: CallContext,
        rule: Rule,
        target: Mapping[str, Any],
        event: dict[str, Any],
        arn: Arn,
        text: str,
    ) -> None:
        invoke = self.invoke_function
        if invoke is None:
            raise AwsError("UnsupportedTarget", "no Lambda runner: invoke_function is not set")
        # function:name or function:name:alias -> name
        name = arn.resource.split(":")[1] if ":" in arn.resource else arn.resource
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = text  # an InputTransformer may produce plain text

        def invoke_now() -> None:
            try:
                self._delivered("lambda", "Invoke")
                invoke(name, payload)
            except Exception as error:  # the function's failure, whatever it is
                self._failed(context, rule, target, event, error)

        try:
            self.executor.submit(invoke_now)
        except RuntimeError as error:  # the router is stopping
            raise AwsError("ServiceUnavailable", f"not invoking {name}: {error}") from error

    def _failed(
        self,
        context: CallContext,
        rule: Rule,
        target: Mapping[str, Any],
        event: dict[str, Any],
        error: BaseException,
    ) -> None:
        code = error.code if isinstance(error, AwsError) else type(error).__name__
        message = error.message if isinstance(error, AwsError) else str(error)
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        dead_letter_arn = parse_arn(dead_letter) if dead_letter else None
        if dead_letter_arn is None or dead_letter_arn.service != "sqs":
            log.warning(
                "rule %s: delivery to %s failed: %s: %s",
                rule.name,
                target.get("Arn"),
                code,
                message,
            )
            return
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": str(target.get("Arn", "")),
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:256] or code,
        }
        try:
            self.moto.json(
                CallContext(dead_letter_arn.region or context.region, context.access_key),
                "sqs",
                "SendMessage",
                {
                    "QueueUrl": self._queue_url(dead_letter_arn),
                    "MessageBody": json.dumps(event),
                    "MessageAttributes": {
                        name: {"DataType": "String", "StringValue": value}
                        for name, value in attributes.items()
                    },
                },
            )
            self._delivered("sqs", "SendMessage")
        except (AwsError, urllib3.exceptions.HTTPError, OSError) as dlq_error:
            log.warning(
                "rule %s: delivery to %s failed (%s) and so did its DLQ %s: %s",
                rule.name,
                target.get("Arn"),
                code,
                dead_letter,
                dlq_error,
            )

    def _queue_url(self, arn: Arn) -> str:
        # moto reads the queue's name from the URL's last segment; its host is moto's own.
        return f"{self.moto.endpoint}/{arn.account}/{arn.resource}"


def _arn_text(arn: Arn) -> str:
    return f"arn:{arn.partition}:{arn.service}:{arn.region}:{arn.account}:{arn.resource}"
