"""AWS::DynamoDB::Table -> DynamoDB Local (kept on disk: data survives restarts)."""

from __future__ import annotations

from localcloud.cloudformation_table import TableConversionError, TableMismatchError, ensure_table
from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import TableRecord

__all__ = ["deploy_table"]

# DynamoDB's limit on table names.
_MAX_TABLE_NAME = 255


def deploy_table(ctx: DeployContext, resource: Resource) -> Created:
    """Create the table if missing (an existing one keeps its data), record its ARNs."""
    name = resource.properties.get("TableName") or ctx.name(resource, _MAX_TABLE_NAME)
    try:
        notes = ensure_table(ctx.dynamodb, resource.properties, str(name))
    except (TableConversionError, TableMismatchError) as error:
        raise resource.error(str(error)) from error
    table = ctx.dynamodb.describe_table(TableName=name)["Table"]
    attributes = {"Arn": table["TableArn"]}
    stream_arn = table.get("LatestStreamArn")
    if stream_arn is not None:
        attributes["StreamArn"] = stream_arn
    ctx.deployment.tables.append(
        TableRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=table["TableArn"],
            stream_arn=stream_arn,
            stream_view_type=table.get("StreamSpecification", {}).get("StreamViewType"),
        )
    )
    return Created(name, attributes, notes)
