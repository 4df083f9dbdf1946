"""Declining the other applications of a closed job, against an in-memory data layer."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from events_schema import JobClosedData
from services.common.dal.table import PageRequest
from services.common.models import JobApplication, JobApplicationStatus, Page, utc_now
from services.decline_applications.logic import DeclineOutcome, decline_other_applications

PENDING, ACCEPTED, DECLINED = (
    JobApplicationStatus.PENDING,
    JobApplicationStatus.ACCEPTED,
    JobApplicationStatus.DECLINED,
)


class FakeApplications:
    """A job's applications: the table (``status``) and a possibly stale index view."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.status: dict[str, JobApplicationStatus] = {}
        self.index_status: dict[str, JobApplicationStatus] = {}
        self.failing: set[str] = set()
        self.list_calls = 0
        self.delay = 0.0
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def add(
        self, status: JobApplicationStatus = PENDING, *, index: JobApplicationStatus | None = None
    ) -> str:
        application_id = str(uuid.uuid4())
        self.status[application_id] = status
        self.index_status[application_id] = index or status
        return application_id

    def list_for_job(self, job_id: str, page: PageRequest) -> Page[JobApplication]:
        self.list_calls += 1
        ids = sorted(i for i in self.index_status if job_id == self.job_id)
        start = ids.index(page.next_token) + 1 if page.next_token else 0
        chunk = ids[start : start + page.limit]
        more = start + page.limit < len(ids)
        return Page(
            items=[self._application(i) for i in chunk], next_token=chunk[-1] if more else None
        )

    def _application(self, application_id: str) -> JobApplication:
        return JobApplication(
            id=application_id,
            job_id=self.job_id,
            applicant_username="nanny",
            parent_username="parent",
            job_application_status=self.index_status[application_id],
            created_on=utc_now(),
        )

    def decline_if_pending(self, job_id: str, application_id: str) -> bool:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if application_id in self.failing:
                raise ConnectionError("throttled")
            with self._lock:
                if self.status.get(application_id) is not PENDING:
                    return False
                self.status[application_id] = DECLINED
                return True
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture
def store() -> FakeApplications:
    return FakeApplications(job_id=str(uuid.uuid4()))


def closed(store: FakeApplications, accepted: str) -> JobClosedData:
    return JobClosedData(
        job_id=store.job_id,
        parent_username="parent",
        accepted_application_id=accepted,
        accepted_applicant="nanny",
        closed_at=utc_now(),
    )


def test_every_pending_application_but_the_accepted_one_is_declined(store) -> None:
    accepted = store.add(ACCEPTED)
    others = [store.add() for _ in range(3)]
    outcome = decline_other_applications(closed(store, accepted), store)
    assert outcome == DeclineOutcome(declined=3, unchanged=1)
    assert store.status[accepted] is ACCEPTED
    assert {store.status[i] for i in others} == {DECLINED}


def test_the_accepted_application_is_skipped_even_if_the_index_still_shows_it_pending(
    store,
) -> None:
    accepted = store.add(ACCEPTED, index=PENDING)
    decline_other_applications(closed(store, accepted), store)
    assert store.status[accepted] is ACCEPTED


def test_an_accepted_application_is_never_overwritten_whatever_the_event_says(store) -> None:
    # A stale index and an event naming another application: only the condition is left.
    truly_accepted = store.add(ACCEPTED, index=PENDING)
    named = store.add()
    outcome = decline_other_applications(closed(store, named), store)
    assert store.status[truly_accepted] is ACCEPTED
    assert outcome == DeclineOutcome(declined=0, unchanged=2)


def test_a_second_run_changes_nothing(store) -> None:
    accepted = store.add(ACCEPTED)
    for _ in range(5):
        store.add()
    first = decline_other_applications(closed(store, accepted), store)
    store.index_status = dict(store.status)  # the index caught up
    second = decline_other_applications(closed(store, accepted), store)
    assert (first.declined, second.declined) == (5, 0)


def test_settled_applications_cost_no_write(store) -> None:
    accepted = store.add(ACCEPTED)
    store.add(DECLINED)
    store.failing = set(store.status)  # any write would fail
    assert decline_other_applications(closed(store, accepted), store).declined == 0


def test_all_pages_are_declined(store) -> None:
    accepted = store.add(ACCEPTED)
    for _ in range(249):
        store.add()
    outcome = decline_other_applications(closed(store, accepted), store, page_size=100)
    assert outcome == DeclineOutcome(declined=249, unchanged=1)
    assert store.list_calls == 3


def test_declines_run_in_parallel_within_the_bound(store) -> None:
    accepted = store.add(ACCEPTED)
    for _ in range(20):
        store.add()
    store.delay = 0.02
    started = time.monotonic()
    decline_other_applications(closed(store, accepted), store, max_parallel=4)
    assert store.most_in_flight == 4
    assert time.monotonic() - started < 20 * store.delay


def test_a_failed_write_fails_the_job_after_the_other_writes_ran(store) -> None:
    accepted = store.add(ACCEPTED)
    pending = [store.add() for _ in range(10)]
    store.failing = {pending[3]}
    with pytest.raises(ConnectionError):
        decline_other_applications(closed(store, accepted), store)
    assert [store.status[i] for i in pending].count(DECLINED) == 9
    store.failing = set()  # the retry finishes the job
    assert decline_other_applications(closed(store, accepted), store).declined == 1
