"""The single table's key design (DESIGN.md section 3), in one place.

Every item also carries an ``entity`` attribute so code and stream filters never infer
the kind of an item from its key's shape.
"""

from __future__ import annotations

from enum import StrEnum

# Index names are kept from the seed design so existing clients of the table keep working.
JOB_APPLICATIONS_INDEX = "jobApplications"  # GSI1: a job and its applications
JOBS_APPLIED_TO_INDEX = "jobsAppliedTo"  # GSI2: a nanny's applications; also users by type
JOBS_BY_STATUS_INDEX = "getJobsByStatus"  # jobStatus + SK: open or closed jobs


class EntityName(StrEnum):
    USER = "USER"
    USER_EMAIL = "USER_EMAIL"
    JOB = "JOB"
    APPLICATION = "APPLICATION"
    APPLICANT_GUARD = "APPLICANT_GUARD"
    REVIEW = "REVIEW"


def user_pk(username: str) -> str:
    return f"USER#{username}"


def email_pk(email: str) -> str:
    # Lower-cased so "Ann@x.org" and "ann@x.org" cannot be two accounts.
    return f"USEREMAIL#{email.lower()}"


def users_by_type_pk(user_type: str) -> str:
    """GSI2 partition listing users of one type (index overloading, see docs/data-model.md)."""
    return f"USERS#{user_type}"


def job_sk(job_id: str) -> str:
    return f"JOB#{job_id}"


def application_pk(job_id: str, application_id: str) -> str:
    return f"JOB#{job_id}#APPLICATION#{application_id}"


# An IAM StringLike pattern matching every application's partition key and no other
# item's (a job's is USER#…, an applicant guard's JOB#…#APPLICANT#…): the decline function
# may update applications only (dynamodb:LeadingKeys).
APPLICATION_PARTITIONS = application_pk("*", "*")


def application_gsi1_sk(application_id: str) -> str:
    return f"APPLICATION#{application_id}"


def applicant_guard_pk(job_id: str, nanny: str) -> str:
    return f"JOB#{job_id}#APPLICANT#{nanny}"


def review_sk(job_id: str, reviewer: str) -> str:
    return f"REVIEW#{job_id}#{reviewer}"


def key(pk: str, sk: str | None = None) -> dict[str, str]:
    """A primary key; items whose SK repeats the PK pass only the PK."""
    return {"PK": pk, "SK": pk if sk is None else sk}
