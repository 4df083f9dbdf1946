"""The ``graphql`` suite: the GraphQL endpoint under load, as the mobile apps load it.

What it measures, on the local cloud's AppSync (``outputs["GraphQLUrl"]``), with real
Cognito ID tokens and the real resolver Lambda behind every field:

- **closed loop** at concurrency 1, 8 and 32, for one read and one mutation: requests/s
  and latency (p50/p95/p99) of C workers sending back to back on keep-alive connections;
- **constant rate**, the seed's load profile (vegeta, 50 requests/s for 60 s): latency
  counted from each request's scheduled send time, the achieved rate and the error count,
  for a mix of operations as the apps send them (``MIX``);
- **where one request's time goes**, from the outside: the same endpoint answering
  ``{ __typename }`` with the API key (HTTP + GraphQL, no token, no Lambda), then with an
  ID token (+ JWT verification), then the read itself (+ the resolver Lambda and DynamoDB);
- **CPU per request** of each part of the cloud during every run (``bench.cpu``): on a
  machine of two cores, the sum is what bounds the throughput.

The read is a nanny's job feed, ``listAllJobs(jobStatus: OPEN, limit: 20)``: the screen a
nanny opens the app on, so the query the app sends most, and a full page of 20 jobs
(the suite posts more than 20 first) from the status GSI through the whole stack. The
mutation is a parent's ``createJob``: repeatable (each call posts a new job), and the
write every booking starts from. The load generator is ``bench.load``.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.cloud import BenchCloud
from bench.cpu import CpuMeter, Snapshot
from bench.load import Endpoint, Record, Request, closed_loop, constant_rate
from bench.stats import percentile, summary
from tests.e2e.client import AppUser

__all__ = ["chart", "run"]

CONCURRENCIES: Final = (1, 8, 32)
#: The resolver Lambda's handler: its workers are counted once warm.
API_HANDLER: Final = "services.api.handler.handler"
#: The apps' users the load is spread over (each worker/request uses one of them).
USERS_PER_TYPE: Final = 4
#: Open jobs posted before the reads: more than one page, so every read answers 20.
FEED_JOBS: Final = 25

READ_QUERY: Final = """
query Feed { listAllJobs(jobStatus: OPEN, limit: 20) {
  items { id title jobType city cost startDate endDate startTime endTime numberOfKids
          parentUsername jobStatus createdOn }
  nextToken } }"""
CREATE_JOB: Final = """
mutation Post($job: CreateJobInput!) { createJob(job: $job) { id jobStatus createdOn } }"""
MY_JOBS: Final = """
query MyJobs {
  listJobsPerParent(limit: 20) { items { id title jobStatus createdOn } nextToken } }"""
PROFILE: Final = """
query Profile($u: String!) { getUser(username: $u) {
  username type firstName about city languages hourlyRate averageRating ratingCount } }"""
APPLY: Final = """
mutation Apply($jobId: ID!) {
  applyToJob(application: {jobId: $jobId, message: "Happy to help"}) { id jobApplicationStatus }
}"""
TYPENAME: Final = "query Ping { __typename }"

JOB: Final = {
    "jobType": "DAILY",
    "title": "After-school care",
    "description": "Pick-up at 15:00, homework, dinner.",
    "numberOfKids": 2,
    "startDate": "2027-01-04",
    "endDate": "2027-02-04",
    "startTime": "15:00",
    "endTime": "18:30",
    "city": "London",
    "cost": 18.5,
}

#: The constant-rate run's mix, per request, as the apps send them: mostly reads (nannies
#: browse the feed, parents check their own jobs and look at nannies' profiles), one write
#: in five (parents post, nannies apply). bookNanny, what the seed's vegeta run sent, is
#: the ``booking`` suite's subject, measured there against the seed's design.
MIX: Final = (
    ("listAllJobs", 0.5),
    ("listJobsPerParent", 0.2),
    ("getUser", 0.1),
    ("createJob", 0.1),
    ("applyToJob", 0.1),
)


@dataclass(frozen=True)
class Profile:
    """How long and how hard: the full run, or ``--quick``'s smoke-test sizes."""

    cell_seconds: float
    warmup_seconds: float
    prime_seconds: float
    breakdown_seconds: float
    rate_per_s: float
    rate_seconds: float
    max_in_flight: int


FULL: Final = Profile(15.0, 2.0, 3.0, 3.0, 50.0, 60.0, 64)
QUICK: Final = Profile(1.0, 0.3, 1.0, 0.5, 10.0, 2.0, 16)


@dataclass
class Users:
    """The signed-in app users the load is spread over."""

    parents: list[AppUser]
    nannies: list[AppUser]


# --- requests ---------------------------------------------------------------------------


def signed_in(user: AppUser) -> dict[str, str]:
    """The header the apps send: the ID token, bare, as AppSync takes it."""
    return {"Authorization": user.tokens["IdToken"]}


def read_request(user: AppUser) -> Request:
    return Request.graphql("listAllJobs", READ_QUERY, headers=signed_in(user))


def create_job_request(user: AppUser) -> Request:
    return Request.graphql("createJob", CREATE_JOB, {"job": JOB}, headers=signed_in(user))


def mix_plan(count: int) -> list[str]:
    """The operations of ``count`` requests drawn from ``MIX``, the same every run."""
    rng = random.Random(50)  # noqa: S311 - a reproducible mix, not a secret
    return rng.choices([name for name, _ in MIX], [weight for _, weight in MIX], k=count)


def mixed_requests(users: Users, plan: Sequence[str], open_jobs: Sequence[str]) -> list[Request]:
    """The requests of ``plan``, each by one of the users (drawn, seeded).

    Each applyToJob is a (job, nanny) pair not used before, so none is AlreadyApplied:
    ``open_jobs`` times the nannies must cover the plan's applyToJob count.
    """
    rng = random.Random(51)  # noqa: S311 - as above
    pairs = iter(itertools.product(open_jobs, users.nannies))
    requests = []
    for name in plan:
        parent = rng.choice(users.parents)
        nanny = rng.choice(users.nannies)
        if name == "listAllJobs":
            requests.append(read_request(nanny))
        elif name == "listJobsPerParent":
            requests.append(Request.graphql(name, MY_JOBS, headers=signed_in(parent)))
        elif name == "getUser":
            variables = {"u": nanny.username}
            requests.append(Request.graphql(name, PROFILE, variables, headers=signed_in(parent)))
        elif name == "createJob":
            requests.append(create_job_request(parent))
        else:
            job_id, applicant = next(pairs)
            headers = signed_in(applicant)
            requests.append(Request.graphql(name, APPLY, {"jobId": job_id}, headers=headers))
    return requests


# --- set-up -----------------------------------------------------------------------------


def sign_up(cloud: BenchCloud) -> Users:
    return Users(
        parents=[cloud.user("PARENT") for _ in range(USERS_PER_TYPE)],
        nannies=[cloud.user("NANNY") for _ in range(USERS_PER_TYPE)],
    )


def post_jobs(users: Users, count: int) -> list[str]:
    """``count`` open jobs posted through the API, spread over the parents; their ids."""
    ids = []
    for parent in itertools.islice(itertools.cycle(users.parents), count):
        ids.append(str(parent.graphql(CREATE_JOB, {"job": JOB})["createJob"]["id"]))
    return ids


# --- measurements -----------------------------------------------------------------------


def errors_of(records: Sequence[Record]) -> dict[str, int]:
    return dict(Counter(record.error for record in records if record.error is not None))


class WindowCpu:
    """CPU snapshots at a window's start and end, taken by a thread of its own."""

    def __init__(self, meter: CpuMeter, start: float, end: float) -> None:
        self.snapshots: list[Snapshot] = []

        def take() -> None:
            for moment in (start, end):
                time.sleep(max(0.0, moment - time.monotonic()))
                self.snapshots.append(meter.snapshot())

        self._thread = threading.Thread(target=take, name="cpu-window", daemon=True)
        self._thread.start()

    def per_request_ms(self, requests: int) -> dict[str, float]:
        self._thread.join()
        before, after = self.snapshots
        return CpuMeter.per_request_ms(before, after, requests)


def closed_loop_cell(
    endpoint: Endpoint,
    requests: Callable[[int], Request],
    concurrency: int,
    profile: Profile,
    meter: CpuMeter,
) -> dict[str, Any]:
    """One operation at one concurrency: throughput, latency, errors, CPU per request."""
    now = time.monotonic()
    window = (now + profile.warmup_seconds, now + profile.warmup_seconds + profile.cell_seconds)
    cpu = WindowCpu(meter, *window)
    records, window_start = closed_loop(
        endpoint,
        lambda worker, _n: requests(worker),
        concurrency=concurrency,
        duration=profile.cell_seconds,
        warmup=profile.warmup_seconds,
    )
    window_end = window_start + profile.cell_seconds
    # Throughput: successful answers that arrived inside the window, over the window.
    answered = sum(1 for r in records if r.done <= window_end and r.error is None)
    sent = [record for record in records if record.sent >= window_start]
    errors = errors_of(sent)
    return {
        "concurrency": concurrency,
        "duration_s": profile.cell_seconds,
        "requests": len(sent),
        "throughput_per_s": round(answered / profile.cell_seconds, 1),
        "latency_ms": summary([record.latency_ms for record in sent]),
        "errors": errors,
        "error_count": sum(errors.values()),
        "cpu_ms_per_request": cpu.per_request_ms(answered),
    }


def per_second(records: Sequence[Record], start: float) -> list[dict[str, Any]]:
    """The constant-rate run second by second (by scheduled time): sent, p50/p99/max, errors."""
    buckets: dict[int, list[Record]] = {}
    for record in records:
        buckets.setdefault(int(record.scheduled - start), []).append(record)
    timeline = []
    for second in sorted(buckets):
        bucket = buckets[second]
        latency = summary([record.latency_ms for record in bucket])
        timeline.append(
            {
                "second": second,
                "requests": len(bucket),
                "p50_ms": latency["p50"],
                "p99_ms": latency["p99"],
                "max_ms": latency["max"],
                "errors": sum(1 for record in bucket if record.error is not None),
            }
        )
    return timeline


def constant_rate_run(
    endpoint: Endpoint, requests: Sequence[Request], profile: Profile, meter: CpuMeter
) -> dict[str, Any]:
    before = meter.snapshot()
    records, start = constant_rate(
        endpoint, requests, rate=profile.rate_per_s, max_in_flight=profile.max_in_flight
    )
    # Every request scheduled was sent and answered, or counted as an error.
    assert len(records) == len(requests), f"{len(requests) - len(records)} requests unaccounted"
    cpu = CpuMeter.per_request_ms(before, meter.snapshot(), len(records))
    last_answer = max(record.done for record in records)
    last_sent = max(record.sent for record in records)
    errors = errors_of(records)
    by_operation = {}
    for name, _ in MIX:
        mine = [record for record in records if record.operation == name]
        if mine:
            latency = summary([record.latency_ms for record in mine])
            by_operation[name] = {
                "requests": len(mine),
                "p50_ms": latency["p50"],
                "p99_ms": latency["p99"],
                "errors": errors_of(mine),
            }
    lags = [record.send_lag_ms for record in records]
    return {
        "mix": dict(MIX),
        "target_rate_per_s": profile.rate_per_s,
        "duration_s": profile.rate_seconds,
        "requests": len(records),
        # vegeta's "rate": requests sent over the time it took to send them.
        "achieved_rate_per_s": round((len(records) - 1) / (last_sent - start), 2),
        # vegeta's "throughput": successful answers over the time until the last answer.
        "throughput_per_s": round((len(records) - sum(errors.values())) / (last_answer - start), 2),
        "latency_ms": summary([record.latency_ms for record in records]),
        "send_lag_ms": {
            "p99": round(percentile(lags, 99), 2),
            "max": round(max(lags), 2),
        },
        "errors": errors,
        "error_count": sum(errors.values()),
        "by_operation": by_operation,
        "cpu_ms_per_request": cpu,
        "timeline": per_second(records, start),
    }


def the_same(request: Request, _worker: int, _n: int) -> Request:
    return request


def breakdown(endpoint: Endpoint, users: Users, api_key: str, profile: Profile) -> dict[str, Any]:
    """One request at a time, three ways: where the read's time goes (p50 differences)."""
    nanny = users.nannies[0]
    steps = {
        "http_graphql_api_key": Request.graphql("ping", TYPENAME, headers={"x-api-key": api_key}),
        "plus_jwt_verification": Request.graphql("ping", TYPENAME, headers=signed_in(nanny)),
        "plus_lambda_and_dynamodb": read_request(nanny),
    }
    result = {}
    for name, request in steps.items():
        records, _ = closed_loop(
            endpoint,
            functools.partial(the_same, request),
            concurrency=1,
            duration=profile.breakdown_seconds,
            warmup=profile.warmup_seconds,
        )
        result[name] = {
            "latency_ms": summary([record.latency_ms for record in records]),
            "errors": errors_of(records),
        }
    return result


def load_average() -> list[float]:
    """The machine's 1-minute load average now: other work on a shared machine shows here."""
    return [round(value, 2) for value in os.getloadavg()][:1] if hasattr(os, "getloadavg") else []


def run(cloud: BenchCloud, quick: bool) -> dict[str, Any]:
    profile = QUICK if quick else FULL
    outputs = cloud.stack.outputs
    endpoint = Endpoint.from_url(outputs["GraphQLUrl"])
    process = cloud.process.process
    assert process is not None, "the cloud is not running"
    meter = CpuMeter(process.pid)
    load_before = load_average()
    started = time.monotonic()
    users = sign_up(cloud)
    post_jobs(users, FEED_JOBS)
    plan = mix_plan(round(profile.rate_per_s * profile.rate_seconds))
    open_jobs = post_jobs(users, -(-plan.count("applyToJob") // len(users.nannies)))
    setup_seconds = time.monotonic() - started

    # Encoded once: worker w sends as user w mod 4, every time.
    reads = [read_request(nanny) for nanny in users.nannies]
    posts = [create_job_request(parent) for parent in users.parents]

    def nanny_read(worker: int) -> Request:
        return reads[worker % len(reads)]

    def parent_post(worker: int) -> Request:
        return posts[worker % len(posts)]

    # The api function's Lambda workers start on first use: all of them warm before timing.
    closed_loop(endpoint, lambda w, _n: nanny_read(w), concurrency=8,
                duration=profile.prime_seconds, warmup=0.0)  # fmt: skip

    results: dict[str, Any] = {
        "setup": {
            "users": {"parents": len(users.parents), "nannies": len(users.nannies)},
            "feed_jobs": FEED_JOBS,
            "jobs_to_apply_to": len(open_jobs),
            "api_function_workers": len(cloud.process.worker_pids(API_HANDLER)),
            "seconds": round(setup_seconds, 1),
        },
        "operations": {
            "read": "listAllJobs(jobStatus: OPEN, limit: 20) by a nanny: a page of 20 jobs",
            "mutation": "createJob by a parent",
        },
        "breakdown": breakdown(endpoint, users, outputs["GraphQLApiKey"], profile),
        "closed_loop": {
            kind: {
                str(concurrency): closed_loop_cell(endpoint, requests, concurrency, profile, meter)
                for concurrency in CONCURRENCIES
            }
            for kind, requests in (("read", nanny_read), ("mutation", parent_post))
        },
    }
    results["constant_rate"] = constant_rate_run(
        endpoint, mixed_requests(users, plan, open_jobs), profile, meter
    )
    results["load_average_1m"] = {"before": load_before, "after": load_average()}
    results["notes"] = notes(results)
    return results


def notes(results: dict[str, Any]) -> list[str]:
    api_key, jwt, read = (step["latency_ms"]["p50"] for step in results["breakdown"].values())
    return [
        "Closed loop: C workers, one keep-alive HTTP connection each, back to back; "
        "latency per request, throughput = answers inside the window / window.",
        "Constant rate: latency from each request's scheduled send time (no coordinated "
        "omission); achieved rate = requests / time to send them, as vegeta reports it.",
        f"One request at a time (p50): HTTP + GraphQL {api_key} ms, with JWT verification "
        f"{jwt} ms, the read through the Lambda and DynamoDB {read} ms.",
        "cpu_ms_per_request: CPU time of each part of the cloud (the localcloud process: "
        "GraphQL endpoint, edge router, moto and pollers on one GIL; DynamoDB Local; the "
        "Lambda workers) and of the load generator, over the requests answered; their sum "
        "against the machine's cores bounds the throughput.",
        f"The load is spread over {USERS_PER_TYPE} parents and {USERS_PER_TYPE} nannies "
        "(real Cognito ID tokens); the load generator runs on the same machine as the cloud.",
    ]


# --- chart ------------------------------------------------------------------------------


def chart(document: dict[str, Any], png_path: Path) -> None:
    """Requests/s and p50/p99 against concurrency (read, mutation), and the constant-rate
    run's latency second by second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = document["results"]
    figure, (throughput_axis, latency_axis, rate_axis) = plt.subplots(
        1, 3, figsize=(16, 4.8), constrained_layout=True
    )
    for kind, colour in (("read", "tab:blue"), ("mutation", "tab:orange")):
        cells = results["closed_loop"][kind]
        levels = [int(level) for level in cells]
        throughput_axis.plot(
            levels, [cells[str(c)]["throughput_per_s"] for c in levels], "o-", color=colour,
            label=kind,
        )  # fmt: skip
        latency_axis.plot(
            levels, [cells[str(c)]["latency_ms"]["p50"] for c in levels], "o-", color=colour,
            label=f"{kind} p50",
        )  # fmt: skip
        latency_axis.plot(
            levels, [cells[str(c)]["latency_ms"]["p99"] for c in levels], "s--", color=colour,
            label=f"{kind} p99",
        )  # fmt: skip
    for axis in (throughput_axis, latency_axis):
        axis.set_xscale("log", base=2)
        axis.set_xticks(list(CONCURRENCIES), [str(c) for c in CONCURRENCIES])
        axis.set_xlabel("concurrency (closed loop)")
        axis.grid(alpha=0.3)
        axis.legend()
    throughput_axis.set_ylim(bottom=0)
    latency_axis.set_yscale("log")
    throughput_axis.set_ylabel("requests/s")
    throughput_axis.set_title("Throughput")
    latency_axis.set_ylabel("latency (ms)")
    latency_axis.set_title("Latency")

    constant = results["constant_rate"]
    timeline = constant["timeline"]
    seconds = [point["second"] for point in timeline]
    for key, style in (("p50_ms", "-"), ("p99_ms", "--"), ("max_ms", ":")):
        rate_axis.plot(seconds, [point[key] for point in timeline], style, label=key[:-3])
    rate_axis.set_xlabel("second of the run (by scheduled send time)")
    rate_axis.set_ylabel("latency from scheduled send (ms)")
    rate_axis.set_title(
        f"{constant['target_rate_per_s']:g} req/s for {constant['duration_s']:g} s (mix): "
        f"{constant['error_count']} errors"
    )
    rate_axis.grid(alpha=0.3)
    rate_axis.legend()
    quick = " (--quick: not results)" if document.get("quick") else ""
    figure.suptitle(f"GraphQL endpoint on the local cloud{quick}")
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
