"""Put a job in the booked state the booking workflow leaves it in, for tests of what follows."""

from __future__ import annotations

import datetime as dt
from typing import Any


def close_job(
    dynamodb: Any, table_name: str, job: dict[str, Any], application: dict[str, Any]
) -> None:
    """Close ``job`` and accept ``application`` in one transaction, as bookNanny does."""
    now = dt.datetime.now(dt.UTC).isoformat()
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table_name,
                    "Key": {
                        "PK": {"S": f"USER#{job['parentUsername']}"},
                        "SK": {"S": f"JOB#{job['id']}"},
                    },
                    "UpdateExpression": "SET jobStatus = :closed, acceptedApplicationId = :app,"
                    " acceptedApplicant = :nanny, closedAt = :now",
                    "ConditionExpression": "jobStatus = :open",
                    "ExpressionAttributeValues": {
                        ":closed": {"S": "CLOSED"},
                        ":open": {"S": "OPEN"},
                        ":app": {"S": application["id"]},
                        ":nanny": {"S": application["applicantUsername"]},
                        ":now": {"S": now},
                    },
                }
            },
            {
                "Update": {
                    "TableName": table_name,
                    "Key": {
                        "PK": {"S": f"JOB#{job['id']}#APPLICATION#{application['id']}"},
                        "SK": {"S": f"JOB#{job['id']}#APPLICATION#{application['id']}"},
                    },
                    "UpdateExpression": "SET jobApplicationStatus = :accepted",
                    "ConditionExpression": "jobApplicationStatus = :pending",
                    "ExpressionAttributeValues": {
                        ":accepted": {"S": "ACCEPTED"},
                        ":pending": {"S": "PENDING"},
                    },
                }
            },
        ]
    )
