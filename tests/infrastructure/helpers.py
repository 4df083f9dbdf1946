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


def function_with_handler(resources: Resources, handler: str) -> tuple[str, dict[str, Any]]:
    """The single Lambda function running `handler`, as (logical id, properties)."""
    found = [
        (logical_id, function["Properties"])
        for logical_id, function in of_type(resources, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] == handler
    ]
    assert len(found) == 1, f"expected one function running {handler}, found {len(found)}"
    return found[0]


def api_function(resources: Resources) -> tuple[str, dict[str, Any]]:
    return function_with_handler(resources, "services.api.handler.handler")


# The consumers of the bus: stack output prefix -> the handler its function runs.
CONSUMER_HANDLERS = {
    "DeclineOtherApplications": "services.decline_applications.handler.handler",
    "NotifyAcceptedApplicant": "services.notify_accepted_applicant.handler.handler",
    "AuditTrail": "services.audit_trail.handler.handler",
}
# Those subscribed to JobClosed v1 (the audit trail takes every event).
JOB_CLOSED_CONSUMERS = ("DeclineOtherApplications", "NotifyAcceptedApplicant")


def consumer_queues(resources: Resources, consumer: str) -> tuple[str, str]:
    """(queue, dead-letter queue) logical ids of a consumer, followed from its function
    through its event source mapping and the queue's redrive policy."""
    function_id, _ = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    (mapping,) = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    queue_id: str = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    redrive = resources[queue_id]["Properties"]["RedrivePolicy"]
    dead_letter_id: str = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return queue_id, dead_letter_id


def notification_topic(resources: Resources) -> tuple[str, dict[str, Any]]:
    """The topic the notifier publishes to (the stack has an ops topic too)."""
    _, function = function_with_handler(resources, CONSUMER_HANDLERS["NotifyAcceptedApplicant"])
    topic_id: str = function["Environment"]["Variables"]["TOPIC_ARN"]["Ref"]
    assert resources[topic_id]["Type"] == "AWS::SNS::Topic"
    return topic_id, resources[topic_id]["Properties"]
