"""The key patterns IAM policies are written with match the items they are meant for."""

from __future__ import annotations

from fnmatch import fnmatchcase

from services.common.dal import keys
from services.common.ids import new_id


def test_the_application_partition_pattern_matches_applications_and_nothing_else() -> None:
    # IAM's StringLike: "*" is any run of characters, "?" one; fnmatchcase without
    # brackets in the pattern has the same meaning.
    job, application = new_id(), new_id()
    pattern = keys.APPLICATION_PARTITIONS
    assert "[" not in pattern
    assert fnmatchcase(keys.application_pk(job, application), pattern)
    others = [
        keys.user_pk("ann"),
        keys.email_pk("ann@example.org"),
        keys.users_by_type_pk("NANNY"),
        keys.job_sk(job),
        keys.applicant_guard_pk(job, "ann"),
        keys.review_sk(job, "ann"),
    ]
    assert [other for other in others if fnmatchcase(other, pattern)] == []
