"""The BookNanny Express workflow: one GetItem and one TransactWriteItems, no Lambda inside.

The definition is services/booking/book_nanny.asl.json, inlined into the template with its
`${TableName}` placeholder, which CloudFormation fills in from `DefinitionSubstitutions`
(DefinitionBody.from_file would upload it as an S3 asset instead, so neither the local
cloud nor a reviewer of the template would see it).
"""

import json
from collections.abc import Iterator
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from services.booking.definition import TABLE_NAME, template
from stacks.constants import BOOKING_STATE_MACHINE_NAME
from stacks.nag import acknowledge
from stacks.service_function import LOG_RETENTION, depend_on_role_policy_only

# The IAM action each DynamoDB integration of a Task state needs. Transactions have no
# action of their own: DynamoDB authorises TransactWriteItems per item, as the item
# action of each entry (Put -> PutItem, Update -> UpdateItem, ...).
_OPTIMIZED_ACTIONS = {
    "arn:aws:states:::dynamodb:getItem": "dynamodb:GetItem",
    "arn:aws:states:::dynamodb:putItem": "dynamodb:PutItem",
    "arn:aws:states:::dynamodb:updateItem": "dynamodb:UpdateItem",
    "arn:aws:states:::dynamodb:deleteItem": "dynamodb:DeleteItem",
}
_TRANSACT_WRITE = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
_TRANSACT_ENTRY_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_TABLE_PLACEHOLDER = f"${{{TABLE_NAME}}}"


def table_item_actions(definition: dict[str, Any]) -> set[str]:
    """The DynamoDB item actions the definition's Task states perform on the table.

    Raises ValueError for a Task this function cannot account for (another integration,
    another table, a table name chosen at run time): granting it is a decision to make
    here, not something to find out from AccessDenied in production.
    """
    actions: set[str] = set()
    for state_name, state in _states(definition):
        if state.get("Type") != "Task":
            continue
        resource = state.get("Resource")
        parameters = state.get("Parameters", {})
        if resource in _OPTIMIZED_ACTIONS:
            _require_table(state_name, parameters)
            actions.add(_OPTIMIZED_ACTIONS[resource])
        elif resource == _TRANSACT_WRITE:
            for entry in parameters.get("TransactItems", []):
                ((kind, item),) = entry.items()
                if kind not in _TRANSACT_ENTRY_ACTIONS:
                    raise ValueError(f"{state_name}: unknown transaction entry {kind!r}")
                _require_table(state_name, item)
                actions.add(_TRANSACT_ENTRY_ACTIONS[kind])
        else:
            raise ValueError(f"{state_name}: no IAM mapping for the integration {resource!r}")
    return actions


def _states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Parallel branches and Map iterators."""
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key])


def _require_table(state_name: str, parameters: dict[str, Any]) -> None:
    if parameters.get("TableName") != _TABLE_PLACEHOLDER:
        raise ValueError(f"{state_name}: writes to a table other than {_TABLE_PLACEHOLDER}")


class Booking(Construct):
    """The Express state machine BookNanny, allowed exactly the item actions it uses."""

    def __init__(self, scope: Construct, construct_id: str, *, table: dynamodb.ITable) -> None:
        super().__init__(scope, construct_id)

        definition = template()
        stack_name = Stack.of(self).stack_name
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            # The /aws/vendedlogs/ prefix keeps Step Functions from adding a statement per
            # log group to the account's CloudWatch Logs resource policy, which is capped
            # at 5,120 characters.
            log_group_name=f"/aws/vendedlogs/states/{stack_name}-{BOOKING_STATE_MACHINE_NAME}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{stack_name}-{BOOKING_STATE_MACHINE_NAME}",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={TABLE_NAME: table.table_name},
            # Express executions keep no history: the log is the only record of one. ALL
            # events, but without their input and output, which carry usernames and the
            # items read (DESIGN.md section 8: no personal data in logs).
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
        )

        actions = sorted(table_item_actions(json.loads(definition)))
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=actions, resources=[table.table_arn])
        )
        depend_on_role_policy_only(self.state_machine, self.state_machine.role)
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only the statements CDK adds for logging and tracing name Resource '*': "
            "CloudWatch Logs log-delivery actions (logs:CreateLogDelivery and the like) and "
            "X-Ray writes support no resource-level permissions. DynamoDB is granted the "
            "definition's item actions on the table ARN only.",
        )
