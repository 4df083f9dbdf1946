"""The ``booking`` suite: bookNanny and the settling of a booking, this design against the
seed's, on the same local cloud, the same table and the same run.

For jobs of N = 1, 10, 100 and 1000 applications (``--quick``: 1 and 10):

1. **Latency of the booking at the resolver's layer**, called from this process on the
   cloud's AWS endpoint: this design's ``BookingWorkflow.book`` (StartSyncExecution of
   the Express BookNanny workflow: one GetItem and one two-item transaction, whatever N)
   against the seed's request (``bench.seed_design.SeedBooking``: query every
   application, the same transaction, one ``SendMessage`` per other application). p50,
   p95 and p99 per N, and p50 at the largest N over p50 at N = 1. Also this design's
   whole GraphQL round trip (``bookNanny`` with the parent's ID token), for the AppSync
   and Lambda overhead on top.
2. **Time to settle**, from the start of the booking call until every other application
   is DECLINED and (this design) the booked nanny's notification is published: seen from
   outside the edge router by ``bench.settle.Observer``. The seed notified nobody, so its
   settling is its declines. Decline throughput at the largest N.
3. **Requests and DynamoDB capacity per booking**, measured by the edge router's request
   accounting (``localcloud.edge.accounting``) around single bookings, every hop
   included (the workflow's tasks, the pipe's PutEvents, EventBridge's deliveries, the
   consumers' SQS and DynamoDB calls), against the floor: one two-item transaction and
   one write per decline.

Every booking gets a fresh OPEN job with N PENDING applications, written beforehand
straight through the data layer (``JobRepository``; applications in 25-item batches of
the repository's own item layout), and is checked once settled: the booked application
ACCEPTED, every other DECLINED, the job CLOSED; anything else raises ``BenchError``.
Bookings run one at a time, the two designs alternating, each on an idle pipe
(``Observer.wait_for_pipe``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.config import Config

from bench.cloud import BenchCloud
from bench.edge_requests import EdgeRequests, RequestDelta
from bench.seed_design import (
    BATCH_SIZE,
    MAP_CONCURRENCY,
    SeedBooking,
    SeedDeclineConsumer,
    seed_queue,
)
from bench.settle import BenchError, Inbox, Observer, SeededJob, Settled
from bench.stats import summary
from services.api.booking_workflow import BookingWorkflow
from services.common.dal.applications import _application_item as application_item
from services.common.dal.jobs import JobRepository, job_key
from services.common.dal.table import Table, to_attribute_values
from services.common.dal.users import UserRepository
from services.common.ids import new_id
from services.common.models import Job, JobApplication, JobType, User, UserType
from tests.e2e.client import AppUser

__all__ = ["chart", "run"]

THIS: Final = "this"
SEED: Final = "seed"
GRAPHQL: Final = "this_graphql"
DESIGN_LABELS: Final = {
    THIS: "this design (BookingWorkflow)",
    SEED: "seed design (query + transaction + N-1 SendMessage)",
    GRAPHQL: "this design, GraphQL round trip",
}

BOOK: Final = """
mutation Book($jobId: ID!, $applicationId: ID!) {
  bookNanny(jobId: $jobId, applicationId: $applicationId) {
    id jobStatus acceptedApplicationId acceptedApplicant
  }
}"""

#: The decline function's event source mapping allows 5 concurrent batches
#: (``ScalingConfig.MaximumConcurrency``), and the local cloud starts as many workers;
#: the seed's consumer gets as many pollers.
SEED_POLLERS: Final = 5
_SEED_BATCH_WRITERS: Final = 4
_BATCH_WRITE_LIMIT: Final = 25


@dataclass(frozen=True)
class Profile:
    """How many bookings of each kind per N."""

    sizes: tuple[int, ...]
    latency: dict[int, int]
    graphql: dict[int, int]
    requests: dict[int, int]

    def settle_timeout(self, size: int) -> float:
        return 60.0 + size * 0.15


#: About 9 minutes on a 2-core machine, most of it at N = 1000, where a seed booking
#: takes some 15 s to answer and settle.
FULL: Final = Profile(
    sizes=(1, 10, 100, 1000),
    latency={1: 30, 10: 30, 100: 30, 1000: 8},
    graphql={1: 15, 10: 15, 100: 15, 1000: 3},
    requests={1: 2, 10: 2, 100: 2, 1000: 1},
)
QUICK: Final = Profile(
    sizes=(1, 10),
    latency={1: 3, 10: 3},
    graphql={1: 2, 10: 2},
    requests={1: 1, 10: 1},
)


# --- the data -----------------------------------------------------------------------------


class Seeder:
    """Writes jobs of N applications through the data layer, fast.

    Jobs belong to ``parent`` (the signed-in parent whose token books them through
    GraphQL). The application to accept is always ``nanny``'s, who has a profile (the
    notifier reads it); the others are usernames only. The seed design's jobs lose their
    ``entity`` attribute, which the seed's items never had: the pipe's filter then lets
    their closing pass unseen, so this design's consumers never act on the seed's bookings.
    """

    def __init__(self, table: Table, parent: str, nanny: str) -> None:
        self.table = table
        self.jobs = JobRepository(table)
        self.parent = parent
        self.nanny = nanny

    def job(self, applications: int, *, design: str) -> SeededJob:
        now = dt.datetime.now(dt.UTC)
        job = Job(
            id=new_id(),
            parent_username=self.parent,
            job_type=JobType.DAILY,
            title="Bench booking",
            number_of_kids=2,
            start_date=now.date(),
            end_date=now.date() + dt.timedelta(days=30),
            start_time=dt.time(15, 0),
            end_time=dt.time(18, 30),
            city="London",
            cost=18.5,
            created_on=now,
        )
        self.jobs.create(job)
        if design == SEED:
            self.table.update(job_key(self.parent, job.id), update="REMOVE entity")
        rows = [
            JobApplication(
                id=new_id(),
                job_id=job.id,
                applicant_username=self.nanny if index == 0 else f"applicant-{index}",
                parent_username=self.parent,
                message="I'd love to",
                created_on=now,
            )
            for index in range(applications)
        ]
        self._write(rows)
        return SeededJob(
            job_id=job.id,
            parent_username=self.parent,
            accepted_application_id=rows[0].id,
            accepted_applicant=self.nanny,
            other_application_ids=tuple(row.id for row in rows[1:]),
        )

    def _write(self, rows: Sequence[JobApplication]) -> None:
        items = [{"PutRequest": {"Item": to_attribute_values(application_item(r))}} for r in rows]
        batches = [
            items[start : start + _BATCH_WRITE_LIMIT]
            for start in range(0, len(items), _BATCH_WRITE_LIMIT)
        ]
        with ThreadPoolExecutor(_SEED_BATCH_WRITERS) as writers:
            list(writers.map(self._write_batch, batches))

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        request = {self.table.name: batch}
        while request:
            answer = self.table.client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}


def accepted_nanny(table: Table) -> str:
    """A nanny profile to book in every job (the notifier needs one to notify)."""
    username = f"bench-nanny-{new_id()[-12:]}"
    UserRepository(table).create(
        User(
            username=username,
            type=UserType.NANNY,
            email=f"{username}@example.org",
            first_name="Bench",
            last_name="Nanny",
            created_on=dt.datetime.now(dt.UTC),
        )
    )
    return username


# --- the designs --------------------------------------------------------------------------

Book = Callable[[SeededJob], None]


def _client(cloud: BenchCloud, service: str, config: Config) -> Any:
    """A client on the cloud's endpoint (``cloud.client`` takes no botocore config)."""
    credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client(
        service,
        endpoint_url=edge_url(cloud),
        region_name=cloud.stack.region,
        config=config,
        **credentials,
    )


def edge_url(cloud: BenchCloud) -> str:
    url = cloud.stack.endpoint_url
    if url is None:
        raise BenchError("the booking suite runs on the local cloud only")
    return url


def this_design(cloud: BenchCloud) -> Book:
    """``BookingWorkflow.book`` as the api function calls it, on the cloud's endpoint."""
    client = _client(
        cloud,
        "stepfunctions",
        # As the api function's client against a local endpoint: no "sync-" host prefix.
        Config(
            inject_host_prefix=False,
            connect_timeout=2,
            read_timeout=10,
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )
    workflow = BookingWorkflow(cloud.stack.outputs["BookingStateMachineArn"], client)

    def book(job: SeededJob) -> None:
        booked = workflow.book(
            job.job_id, job.accepted_application_id, job.parent_username, new_id()
        )
        if booked.get("acceptedApplicationId") != job.accepted_application_id:
            raise BenchError(f"job {job.job_id}: the workflow answered {booked}")

    return book


def graphql_design(parent: AppUser) -> Book:
    """``bookNanny`` through the GraphQL endpoint, with the parent's ID token."""

    def book(job: SeededJob) -> None:
        answer = parent.graphql(
            BOOK, {"jobId": job.job_id, "applicationId": job.accepted_application_id}
        )["bookNanny"]
        if answer["jobStatus"] != "CLOSED":
            raise BenchError(f"job {job.job_id}: bookNanny answered {answer}")

    return book


def seed_design(booking: SeedBooking) -> Book:
    def book(job: SeededJob) -> None:
        outcome = booking.book(job.job_id, job.accepted_application_id, job.parent_username)
        # It read the job and every application, and queued every other application.
        expected = (job.applications + 1, len(job.other_application_ids))
        if (outcome.queried_items, outcome.messages_sent) != expected:
            raise BenchError(f"job {job.job_id}: {outcome} for {job.applications} applications")

    return book


# --- one booking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One booking, in milliseconds from the start of the booking call."""

    applications: int
    latency_ms: float
    declined_ms: float
    notified_ms: float | None
    settle_ms: float
    declines_per_s: float | None
    """Declines seen over the time from the first seen to the last (N > 2)."""


@dataclass
class Bench:
    """What a run measures with: the cloud, the designs, the observer and its inbox."""

    cloud: BenchCloud
    profile: Profile
    seeder: Seeder
    observer: Observer
    inbox: Inbox
    designs: dict[str, Book]
    requests: EdgeRequests
    sqs: Any
    seed_consumer: SeedDeclineConsumer
    pipe_waits_s: list[float] = field(default_factory=list)

    def booking(self, design: str, job: SeededJob) -> Sample:
        """Book ``job`` and wait until it settles."""
        self.pipe_waits_s.append(self.observer.wait_for_pipe())
        notify = design != SEED
        tail = self.observer.tail()
        started = time.perf_counter()
        self.designs[design](job)
        answered = time.perf_counter()
        settled = self.observer.settle(
            job,
            tail,
            answered,
            inbox=self.inbox if notify else None,
            timeout=self.profile.settle_timeout(job.applications),
        )
        errors = self.seed_consumer.stats.errors
        if errors:
            raise BenchError(f"the seed's decline consumer failed: {errors[:3]}")
        return _sample(job, started, answered, settled)

    def request_delta(self, design: str, job: SeededJob) -> RequestDelta:
        """The edge router's counts around one booking, its asynchronous tail included."""
        self.observer.wait_for_pipe()
        before = self.requests.snapshot()
        self.booking(design, job)
        return self.requests.wait_quiet(before)


def _sample(job: SeededJob, started: float, answered: float, settled: Settled) -> Sample:
    def ms(instant: float) -> float:
        return (instant - started) * 1000

    others = len(job.other_application_ids)
    rate = None
    if others > 2 and settled.first_decline_at is not None:
        # The declines the first read saw were made before it: not in the spread.
        spread = settled.declined_at - settled.first_decline_at
        rate = (others - settled.first_read_declines) / spread if spread > 0 else None
    return Sample(
        applications=job.applications,
        latency_ms=ms(answered),
        declined_ms=ms(settled.declined_at),
        notified_ms=ms(settled.notified_at) if settled.notified_at is not None else None,
        settle_ms=ms(settled.settled_at),
        declines_per_s=rate,
    )


# --- what single requests cost on this cloud ------------------------------------------------

CALIBRATION_REQUESTS: Final = 60


def calibrate(cloud: BenchCloud, sqs: Any) -> dict[str, Any]:
    """The local price of the requests the designs are made of, for reading their figures:
    one SendMessage, SendMessages 40 at a time (the seed's Map), one conditional UpdateItem
    (a decline), each through the edge router as the designs send them."""
    dynamodb = cloud.client("dynamodb")
    table = cloud.stack.outputs["TableName"]
    url = sqs.create_queue(QueueName=f"bench-calibration-{new_id()[-12:]}")["QueueUrl"]
    try:
        sends = _timed(lambda _: sqs.send_message(QueueUrl=url, MessageBody="{}"))
        with ThreadPoolExecutor(MAP_CONCURRENCY) as senders:
            started = time.perf_counter()
            count = CALIBRATION_REQUESTS * 4
            list(senders.map(lambda _: sqs.send_message(QueueUrl=url, MessageBody="{}"),
                             range(count)))  # fmt: skip
            parallel_per_s = count / (time.perf_counter() - started)
    finally:
        sqs.delete_queue(QueueUrl=url)
    key = f"BENCH#calibration#{new_id()}"
    dynamodb.put_item(
        TableName=table,
        Item={"PK": {"S": key}, "SK": {"S": key}, "jobApplicationStatus": {"S": "PENDING"}},
    )
    updates = _timed(
        lambda _: dynamodb.update_item(
            TableName=table,
            Key={"PK": {"S": key}, "SK": {"S": key}},
            UpdateExpression="SET jobApplicationStatus = :s",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":s": {"S": "DECLINED"}},
        )
    )
    dynamodb.delete_item(TableName=table, Key={"PK": {"S": key}, "SK": {"S": key}})
    return {
        "sqs_send_message_ms": sends,
        f"sqs_send_message_{MAP_CONCURRENCY}_at_a_time_per_s": round(parallel_per_s, 1),
        "dynamodb_update_item_ms": updates,
    }


def _timed(call: Callable[[int], object]) -> dict[str, float | None]:
    samples = []
    for index in range(CALIBRATION_REQUESTS):
        started = time.perf_counter()
        call(index)
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


# --- the run ------------------------------------------------------------------------------


@contextmanager
def bench_setup(cloud: BenchCloud, profile: Profile) -> Iterator[Bench]:
    """Everything a run needs, built on ``cloud`` and taken down afterwards."""
    outputs = cloud.stack.outputs
    parent = cloud.user("PARENT")
    nanny = accepted_nanny(cloud.table)
    observer = Observer.of(cloud)
    sqs = _client(cloud, "sqs", Config(max_pool_connections=MAP_CONCURRENCY))
    dynamodb = cloud.client("dynamodb")
    table_name = outputs["TableName"]
    with (
        seed_queue(sqs, f"bench-seed-decline-{new_id()[-12:]}") as queue_url,
        SeedBooking(table_name, dynamodb, sqs, queue_url) as seed_booking,
        SeedDeclineConsumer(
            table_name, dynamodb, sqs, queue_url, pollers=SEED_POLLERS
        ) as seed_consumer,
        observer.inbox(outputs["NotificationTopicArn"], nanny) as inbox,
    ):
        yield Bench(
            cloud=cloud,
            profile=profile,
            seeder=Seeder(cloud.table, parent.username, nanny),
            observer=observer,
            inbox=inbox,
            designs={
                THIS: this_design(cloud),
                SEED: seed_design(seed_booking),
                GRAPHQL: graphql_design(parent),
            },
            requests=EdgeRequests(edge_url(cloud)),
            sqs=sqs,
            seed_consumer=seed_consumer,
        )


def run(cloud: BenchCloud, quick: bool) -> dict[str, Any]:
    profile = QUICK if quick else FULL
    samples: dict[str, dict[int, list[Sample]]] = {THIS: {}, SEED: {}, GRAPHQL: {}}
    deltas: dict[str, dict[int, list[RequestDelta]]] = {THIS: {}, SEED: {}}
    seeding_s: dict[str, float] = {}
    with bench_setup(cloud, profile) as bench:
        for design in (THIS, SEED, GRAPHQL):  # warm every path (workers, connections)
            bench.booking(design, bench.seeder.job(2, design=design))
        calibration = calibrate(cloud, bench.sqs)
        for size in profile.sizes:
            started = time.monotonic()
            jobs = seed_jobs(bench, size)
            seeding_s[str(size)] = round(time.monotonic() - started, 1)
            measure_size(bench, size, jobs, samples, deltas)
            print(
                f"bench: booking N={size} done in {time.monotonic() - started:.0f} s "
                f"(seeding {seeding_s[str(size)]} s)",
                flush=True,
            )
        pipe_waits = bench.pipe_waits_s
    results = summarise(profile, samples, deltas)
    results["calibration"] = calibration
    results["setup"] = {
        "seeding_s": seeding_s,
        "pipe_wait_ms": summary([wait * 1000 for wait in pipe_waits]),
        "seed_consumer": {"pollers": SEED_POLLERS, "batch_size": BATCH_SIZE},
        "seed_map_concurrency": MAP_CONCURRENCY,
    }
    results["notes"] = notes(results)
    return results


def measure_size(
    bench: Bench,
    size: int,
    jobs: dict[str, list[SeededJob]],
    samples: dict[str, dict[int, list[Sample]]],
    deltas: dict[str, dict[int, list[RequestDelta]]],
) -> None:
    """Latency and settling (the designs alternating), the GraphQL round trips, then the
    requests of single bookings with capacity accounting on."""
    for this_job, seed_job in zip(jobs[THIS], jobs[SEED], strict=True):
        samples[THIS].setdefault(size, []).append(bench.booking(THIS, this_job))
        samples[SEED].setdefault(size, []).append(bench.booking(SEED, seed_job))
    samples[GRAPHQL][size] = [bench.booking(GRAPHQL, job) for job in jobs[GRAPHQL]]
    bench.requests.consumed_capacity(True)
    try:
        for design in (THIS, SEED):
            deltas[design][size] = [
                bench.request_delta(design, job) for job in jobs[f"{design}-requests"]
            ]
    finally:
        bench.requests.consumed_capacity(False)


def seed_jobs(bench: Bench, size: int) -> dict[str, list[SeededJob]]:
    """Every job N = ``size`` needs, written before any is booked (and the pipe left to
    read the writes before the first booking)."""
    profile = bench.profile
    counts = {
        THIS: profile.latency[size],
        SEED: profile.latency[size],
        GRAPHQL: profile.graphql[size],
        f"{THIS}-requests": profile.requests[size],
        f"{SEED}-requests": profile.requests[size],
    }
    return {
        kind: [bench.seeder.job(size, design=kind.removesuffix("-requests")) for _ in range(count)]
        for kind, count in counts.items()
    }


# --- the figures --------------------------------------------------------------------------


def summarise(
    profile: Profile,
    samples: dict[str, dict[int, list[Sample]]],
    deltas: dict[str, dict[int, list[RequestDelta]]],
) -> dict[str, Any]:
    sizes = list(profile.sizes)
    largest = sizes[-1]

    def per_size(design: str, value: Callable[[Sample], float | None]) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for size in sizes:
            values = [v for v in map(value, samples[design][size]) if v is not None]
            table[str(size)] = summary(values) if values else None
        return table

    latency = {design: per_size(design, lambda s: s.latency_ms) for design in samples}
    ratio = {
        design: round(latency[design][str(largest)]["p50"] / latency[design]["1"]["p50"], 2)
        for design in samples
    }
    requests = {design: {str(n): _requests(deltas[design][n]) for n in sizes} for design in deltas}
    capacity = {design: {str(n): _capacity(deltas[design][n]) for n in sizes} for design in deltas}
    floor = {str(n): _floor(n, deltas[SEED][n]) for n in sizes}
    throughput = {
        "applications": largest,
        "declines_per_s": {
            design: _rate_summary([s.declines_per_s for s in samples[design][largest]])
            for design in (THIS, SEED)
        },
        "declines_per_s_from_booking_start": {
            design: _rate_summary(
                [
                    (s.applications - 1) / (s.declined_ms / 1000)
                    for s in samples[design][largest]
                    if s.applications > 1
                ]
            )
            for design in (THIS, SEED)
        },
    }
    return {
        "sizes": sizes,
        "repetitions": {
            "latency_per_design": {str(n): profile.latency[n] for n in sizes},
            "graphql": {str(n): profile.graphql[n] for n in sizes},
            "requests_per_design": {str(n): profile.requests[n] for n in sizes},
        },
        "designs": DESIGN_LABELS,
        "latency_ms": latency,
        "latency_p50_ratio_largest_vs_1": {"largest": largest, **ratio},
        "settle_ms": {design: per_size(design, lambda s: s.settle_ms) for design in samples},
        "settle_parts_ms": {
            design: {
                "declined": per_size(design, lambda s: s.declined_ms),
                "notified": per_size(design, lambda s: s.notified_ms),
            }
            for design in samples
        },
        "throughput": throughput,
        "requests_per_booking": requests,
        "capacity_units_per_booking": capacity,
        "floor": floor,
        "times_the_floor": {
            design: {
                str(n): {
                    "requests": round(requests[design][str(n)]["total"] / n, 2),
                    "dynamodb_requests": round(requests[design][str(n)]["dynamodb"] / n, 2),
                    "capacity_units": round(
                        capacity[design][str(n)]["total"] / floor[str(n)]["capacity_units"], 3
                    ),
                }
                for n in sizes
            }
            for design in deltas
        },
    }


def _rate_summary(rates: Sequence[float | None]) -> dict[str, float | None] | None:
    known = [rate for rate in rates if rate is not None]
    return summary(known) if known else None


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 2)


def _mean_counts(counts: Sequence[dict[str, Any]]) -> dict[str, float]:
    names = sorted({name for one in counts for name in one})
    return {name: _mean([float(one.get(name, 0)) for one in counts]) for name in names}


def _requests(deltas: Sequence[RequestDelta]) -> dict[str, Any]:
    """Requests per booking: every one served, EventBridge's deliveries included, polls
    that found nothing not (idle pollers make those whatever happens)."""
    return {
        "total": _mean([float(d.requests) for d in deltas]),
        "dynamodb": _mean([float(d.service_requests("dynamodb")) for d in deltas]),
        "by_operation": _mean_counts([d.by_operation for d in deltas]),
        "eventbridge_deliveries": _mean_counts([d.deliveries for d in deltas]),
        # One Lambda invocation per batch an event source mapping (or the seed's pollers,
        # standing in for one) received: invocations do not pass the edge router.
        "lambda_invocations": _mean(
            [float(d.by_operation.get("sqs.ReceiveMessage", 0)) for d in deltas]
        ),
        "bookings_measured": len(deltas),
    }


def _capacity(deltas: Sequence[RequestDelta]) -> dict[str, Any]:
    return {
        "total": _mean([sum(d.capacity_units.values()) for d in deltas]),
        "read": _mean([d.read_units for d in deltas]),
        "write": _mean([d.write_units for d in deltas]),
        "by_operation": _mean_counts([d.capacity_units for d in deltas]),
    }


def _floor(size: int, seed_deltas: Sequence[RequestDelta]) -> dict[str, Any]:
    """One two-item transaction and one write per decline: the writes both designs must
    make. Their capacity is the seed's measured TransactWriteItems and UpdateItem units
    (the seed's only writes, and exactly those)."""
    units = _mean(
        [
            d.capacity_units.get("TransactWriteItems", 0.0) + d.capacity_units.get("UpdateItem", 0)
            for d in seed_deltas
        ]
    )
    return {"requests": size, "capacity_units": units}


def notes(results: dict[str, Any]) -> list[str]:
    setup = results["setup"]
    calibration = results["calibration"]
    parallel = calibration[f"sqs_send_message_{MAP_CONCURRENCY}_at_a_time_per_s"]
    return [
        "Calibration, on this cloud through the edge router: one SendMessage p50 "
        f"{calibration['sqs_send_message_ms']['p50']} ms, {parallel} SendMessage/s "
        f"{MAP_CONCURRENCY} at a time, one UpdateItem p50 "
        f"{calibration['dynamodb_update_item_ms']['p50']} ms. The seed's request sends N-1 "
        "messages, so at large N its latency is about (N-1) / that rate here: the edge "
        "router and moto share one Python process on this machine, so it is a local figure, "
        "not what SQS would take.",
        "The local cloud runs moto's Step Functions without parsing the definition and "
        "building a boto3 client per task at every execution, and moto's SQS without "
        "reading the clock through datetime for every queued message "
        "(localcloud.moto_step_functions, localcloud.moto_sqs; their docstrings give the "
        "before and after).",
        "Latency: the booking call at the resolver's layer, from this process to the local "
        "cloud's AWS endpoint (the edge router). This design: BookingWorkflow.book, i.e. "
        "StartSyncExecution, which the edge router emulates over moto's Step Functions "
        "(StartExecution, then DescribeExecution until it ends); the api function adds one "
        "GetItem of the job to answer with it. Seed: its request with boto3 (Query of the "
        "jobApplications index, TransactWriteItems, then one SendMessage per other "
        f"application, {setup['seed_map_concurrency']} at a time as its Inline Map ran).",
        "this_graphql: bookNanny through the local GraphQL endpoint with the parent's ID "
        "token (JWT check, the api Lambda worker, the workflow, the job read).",
        "Settle: from the start of the booking call until a strongly consistent read sees "
        "every other application DECLINED and, for this design, the booked nanny's SNS "
        "notification has reached an SQS queue subscribed with a filter on 'recipient'. The "
        "seed notified nobody: its settle time is its declines. Declines are seen on the "
        "table's stream (read every 75 ms; the instant is the return of the read that saw "
        "the last one), then checked with one strongly consistent BatchGetItem; stream and "
        "inbox are read on DynamoDB Local and moto directly, so the watching is neither "
        "counted as requests nor a load on the table being written.",
        f"Seed decline consumer: {setup['seed_consumer']['pollers']} pollers in the bench "
        "process (the decline function's MaximumConcurrency, and the local cloud's worker "
        f"count for it), ReceiveMessage of up to {setup['seed_consumer']['batch_size']} "
        "(the seed's BatchSize), one conditional UpdateItem per message, DeleteMessageBatch. "
        "This design's decline function declines a job's applications 8 at a time in one "
        "invocation.",
        "Each booking starts when the pipe has read the stream to its end (the local pipe "
        "reads records 10 at a time, in order), so neither design waits behind the other's "
        "or the seeding's stream records.",
        "Requests: counted by the edge router around single bookings with capacity "
        "accounting on, until 1 s passes with nothing but empty polls. Every hop passes "
        "the router except the pipe's reads of the table's stream (it reads DynamoDB Local "
        "directly: a steady poll, a fixed cost in docs/cost.md, not a per-booking one) and "
        "Lambda invocations (counted as one per non-empty ReceiveMessage of a consumer's "
        "queue). Empty ReceiveMessage polls are left out. EventBridge's deliveries "
        "(SendMessage to the three consumer queues, PutLogEvents to the event log) are "
        "counted apart and in the total. AppSync and the api Lambda are "
        "not: both designs pay them once per booking.",
        "Capacity units are DynamoDB Local's ReturnConsumedCapacity figures (index writes "
        "included, transactional writes doubled); a refused conditional write reports none.",
        "Floor: one TransactWriteItems of two items and one UpdateItem per other "
        "application (N requests); its capacity is the seed's measured transaction and "
        "decline writes, which are exactly those.",
        "Both designs share one table: the seed's job items carry no 'entity' attribute "
        "(the seed's never did), so the pipe's filter ignores their closing. Applications "
        "are written without the one-application-per-nanny guard items (not read by "
        "booking or declining).",
    ]


# --- chart ------------------------------------------------------------------------------

_STYLE: Final = {THIS: ("tab:blue", "o"), SEED: ("tab:red", "s"), GRAPHQL: ("tab:cyan", "^")}


def _tail(cell: dict[str, Any] | None) -> float:
    """A cell's p99, or NaN (no point drawn) where too few samples give none."""
    return float("nan") if cell is None or cell["p99"] is None else float(cell["p99"])


def _plot_percentiles(axis: Any, sizes: list[int], cells: dict[str, Any], design: str) -> None:
    """A design's p50 (solid) and p99 (dotted) against N."""
    colour, marker = _STYLE[design]
    for name, style, values in (
        ("p50", "-", [cells[str(n)]["p50"] for n in sizes]),
        ("p99", ":", [_tail(cells[str(n)]) for n in sizes]),
    ):
        axis.plot(sizes, values, marker + style, color=colour, label=f"{design} {name}")


def chart(document: dict[str, Any], png_path: Path) -> None:
    """Latency p50/p99, settle time and requests per booking against N, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _position: f"{value:g}")
    results = document["results"]
    sizes = results["sizes"]
    figure, (latency_axis, settle_axis, requests_axis) = plt.subplots(
        1, 3, figsize=(17, 5), constrained_layout=True
    )
    for design, cells in results["latency_ms"].items():
        _plot_percentiles(latency_axis, sizes, cells, design)
    latency_axis.set_title("bookNanny latency")
    latency_axis.set_ylabel("ms")
    for design in (THIS, SEED):
        colour, marker = _STYLE[design]
        cells = results["settle_ms"][design]
        _plot_percentiles(settle_axis, sizes, cells, design)
        requests = results["requests_per_booking"][design]
        requests_axis.plot(
            sizes, [requests[str(n)]["total"] for n in sizes], marker + "-", color=colour,
            label=f"{design}: all requests",
        )  # fmt: skip
        requests_axis.plot(
            sizes, [requests[str(n)]["dynamodb"] for n in sizes], marker + "--", color=colour,
            label=f"{design}: DynamoDB",
        )  # fmt: skip
    floor = results["floor"]
    requests_axis.plot(sizes, [floor[str(n)]["requests"] for n in sizes], "k:", label="floor (N)")
    settle_axis.set_title("Time to settle (declines + notification)")
    settle_axis.set_ylabel("ms from the booking call")
    requests_axis.set_title("AWS requests per booking")
    requests_axis.set_ylabel("requests")
    for axis in (latency_axis, settle_axis, requests_axis):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.yaxis.set_major_formatter(plain)
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("applications per job (N)")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    mode = "quick (smoke test, not results)" if document.get("quick") else "full run"
    figure.suptitle(f"booking: this design vs the seed's, one local cloud, {mode}")
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
