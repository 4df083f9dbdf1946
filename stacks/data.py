"""The single DynamoDB table (DESIGN.md section 3)."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.constants import GSIS, PARTITION_KEY, SORT_KEY

_STRING = dynamodb.AttributeType.STRING


class Data(Construct):
    """The table every service reads and writes; its stream feeds the event pipe."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        # dynamodb.Table (AWS::DynamoDB::Table) rather than TableV2 (GlobalTable): the
        # local cloud creates DynamoDB Local tables from this resource's properties, which
        # map one to one onto the CreateTable API.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=_STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=_STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # Old and new images: JobClosed is derived from one job item's OPEN -> CLOSED change.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The AWS-managed key (aws/dynamodb): encryption at rest with key use logged in
            # CloudTrail, at no key cost and with no key policy to maintain. A customer-
            # managed key only pays off for cross-account grants or crypto-shredding,
            # which this single-account table does not need.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # User data outlives the stack: deleting or replacing the stack keeps the table.
            removal_policy=RemovalPolicy.RETAIN,
            deletion_protection=True,
            # Expired idempotency records (notify_accepted_applicant) delete themselves.
            time_to_live_attribute="expiration",
        )
        for gsi in GSIS:
            self.table.add_global_secondary_index(
                index_name=gsi.name,
                partition_key=dynamodb.Attribute(name=gsi.partition_key, type=_STRING),
                sort_key=dynamodb.Attribute(name=gsi.sort_key, type=_STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
