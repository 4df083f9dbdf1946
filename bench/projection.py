"""What the measured requests would cost and take on AWS: the booking suite's counts,
priced and timed per hop.

Inputs are the ``booking`` suite's measured figures per design and job size: requests
per booking by service and operation (EventBridge's deliveries and the consumers'
invocations included) and DynamoDB capacity units. Prices are us-east-1's published
rates, the ones docs/cost.md uses and cites. Per-hop latencies are typical figures for
one call within a region: AWS publishes few of them (DynamoDB's "single-digit
millisecond" reads and writes, the 4 polls a second of a stream's poller), so the rest
are stated assumptions (``LATENCY_MS``), to be replaced by your own X-Ray figures.

The projected booking latency is the sum of the calls on the request's path (this
design: a fixed path; the seed's: its query pages, the transaction, and its
``SendMessage`` calls MAP_CONCURRENCY at a time); the projected settle time adds the
asynchronous hops and the declines' rounds. ``python -m bench`` writes
``projection.json`` and ``projection.png`` after the booking suite; ``write`` redoes it
from a booking.json on disk::

    python -m bench.projection bench/results
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from bench.seed_design import BATCH_SIZE, MAP_CONCURRENCY
from services.decline_applications.logic import MAX_PARALLEL_DECLINES

# --- prices, us-east-1, USD (docs/cost.md, "Prices used", with their sources) --------
PER_MILLION: Final = {
    "appsync.operation": 4.00,
    "lambda.request": 0.20,
    "states.express_execution": 1.00,
    "dynamodb.wru": 0.625,
    "dynamodb.rru": 0.125,
    "events.custom_event": 1.00,
    "pipes.request": 0.40,
    "sqs.request": 0.40,
    "sns.publish": 0.50,
    "kms.request": 3.00,  # $0.03 per 10,000
}
LAMBDA_GB_SECOND: Final = 0.0000133334
EXPRESS_GB_HOUR: Final = 0.06
EXPRESS_MEMORY_GB: Final = 64 / 1024  # billed in 64 MB chunks; the workflow fits in one
API_MEMORY_GB: Final = 0.5
CONSUMER_MEMORY_GB: Final = 0.25
SEED_CONSUMER_MEMORY_GB: Final = 0.125

# --- typical latency of one call, ms ---------------------------------------------------
LATENCY_MS: Final = {
    # "single-digit millisecond" (Amazon DynamoDB developer guide, introduction)
    "dynamodb.item": 5.0,
    "dynamodb.query": 7.0,  # assumed: an item read plus up to 1 MB of results
    "dynamodb.transaction": 12.0,  # assumed: two phases over two items
    "appsync.overhead": 15.0,  # assumed: auth, resolver mapping, the Lambda call
    "lambda.warm_invoke": 5.0,  # assumed: a warm synchronous invocation's overhead
    "states.express_sync": 25.0,  # assumed: StartSyncExecution around its tasks
    "sqs.send": 10.0,  # assumed
    # Pollers read a stream's shard 4 times a second (Lambda developer guide, DynamoDB
    # Streams); pipes are assumed alike: on average half an interval of waiting.
    "pipes.stream_wait": 125.0,
    "events.delivery": 100.0,  # assumed: PutEvents to a rule's SQS target
    "sqs.lambda_pickup": 20.0,  # assumed: a long-polling event source mapping's pickup
}

THIS: Final = "this"
SEED: Final = "seed"


def _ms(name: str) -> float:
    return LATENCY_MS[name]


def booking_ms(design: str, size: int, operations: Mapping[str, float]) -> float:
    """The booking request on AWS: AppSync, the api Lambda, the Express workflow, and the
    design's own calls on the request's path."""
    common = _ms("appsync.overhead") + _ms("lambda.warm_invoke") + _ms("states.express_sync")
    if design == THIS:
        # The workflow's GetItem and transaction, and the resolver's read of the job.
        return common + 2 * _ms("dynamodb.item") + _ms("dynamodb.transaction")
    sends = math.ceil(operations.get("sqs.SendMessage", size - 1) / MAP_CONCURRENCY)
    return (
        common
        + operations.get("dynamodb.Query", 1) * _ms("dynamodb.query")
        + _ms("dynamodb.transaction")
        + sends * _ms("sqs.send")
    )


def settle_ms(design: str, size: int, operations: Mapping[str, float], pollers: int) -> float:
    """From the booking request's start until every other application is declined."""
    declines = size - 1
    if design == THIS:
        rounds = math.ceil(declines / MAX_PARALLEL_DECLINES)
        return (
            booking_ms(design, size, operations)
            + _ms("pipes.stream_wait")
            + _ms("events.delivery")
            + _ms("sqs.lambda_pickup")
            + operations.get("dynamodb.Query", 1) * _ms("dynamodb.query")
            + rounds * _ms("dynamodb.item")
        )
    # The seed's consumer: `pollers` invocations at once, each BATCH_SIZE declines in turn.
    batches = math.ceil(declines / BATCH_SIZE)
    rounds = math.ceil(batches / pollers) if batches else 0
    per_batch = _ms("sqs.lambda_pickup") + BATCH_SIZE * _ms("dynamodb.item")
    return booking_ms(design, size, operations) + rounds * per_batch


def usd_per_1000(
    design: str,
    requests: Mapping[str, Any],
    capacity: Mapping[str, Any],
    booking: float,
) -> dict[str, float]:
    """Request charges of 1,000 bookings, by hop (durations at the projected latency)."""
    operations: Mapping[str, float] = requests["by_operation"]
    deliveries: Mapping[str, float] = requests["eventbridge_deliveries"]
    sqs_requests = sum(n for op, n in operations.items() if op.startswith("sqs."))
    sqs_requests += deliveries.get("sqs.SendMessage", 0)
    invocations = float(requests["lambda_invocations"])
    consumer_memory = CONSUMER_MEMORY_GB if design == THIS else SEED_CONSUMER_MEMORY_GB
    consumer_seconds = 0.2 if design == THIS else 0.15  # docs/cost.md's assumptions
    costs = {
        "appsync": PER_MILLION["appsync.operation"],
        "api_lambda": PER_MILLION["lambda.request"]
        + 1e6 * API_MEMORY_GB * booking / 1000 * LAMBDA_GB_SECOND,
        "express_workflow": PER_MILLION["states.express_execution"]
        + 1e6 * EXPRESS_MEMORY_GB * max(booking / 1000, 0.1) / 3600 * EXPRESS_GB_HOUR,
        "dynamodb": float(capacity["write"]) * PER_MILLION["dynamodb.wru"]
        + float(capacity["read"]) * PER_MILLION["dynamodb.rru"],
        "eventbridge_and_pipe": operations.get("events.PutEvents", 0)
        * (PER_MILLION["events.custom_event"] + PER_MILLION["pipes.request"]),
        "sqs": sqs_requests * PER_MILLION["sqs.request"],
        "consumer_lambdas": invocations
        * (
            PER_MILLION["lambda.request"]
            + 1e6 * consumer_memory * consumer_seconds * LAMBDA_GB_SECOND
        ),
        "sns_and_kms": operations.get("sns.Publish", 0)
        * (PER_MILLION["sns.publish"] + PER_MILLION["kms.request"]),
    }
    # per million bookings -> per thousand
    by_hop = {hop: round(usd / 1000, 5) for hop, usd in costs.items()}
    return {**by_hop, "total": round(sum(by_hop.values()), 5)}


def project(booking: Mapping[str, Any]) -> dict[str, Any]:
    """The projection of a booking suite's results (``document["results"]``)."""
    pollers = int(booking["setup"]["seed_consumer"]["pollers"])
    designs: dict[str, Any] = {}
    for design in (THIS, SEED):
        per_size: dict[str, Any] = {}
        for size in booking["sizes"]:
            requests = booking["requests_per_booking"][design][str(size)]
            capacity = booking["capacity_units_per_booking"][design][str(size)]
            operations = requests["by_operation"]
            latency = booking_ms(design, size, operations)
            per_size[str(size)] = {
                "booking_ms": round(latency, 1),
                "settle_ms": round(settle_ms(design, size, operations, pollers), 1),
                "usd_per_1000_bookings": usd_per_1000(design, requests, capacity, latency),
            }
        designs[design] = per_size
    return {
        "sizes": booking["sizes"],
        "latency_ms_per_call": dict(LATENCY_MS),
        "prices_usd_per_million": dict(PER_MILLION),
        "designs": designs,
        "notes": [
            "Request charges only, at the projected durations; the stack's fixed monthly "
            "costs and observability (logs, traces) are in docs/cost.md.",
            "The seed design has no bus, archive, notification or audit trail: its lower "
            "EventBridge, SNS and consumer figures are features it lacks, not savings.",
            "Latencies other than DynamoDB's and the stream pollers' are assumptions "
            "(bench/projection.py, LATENCY_MS): replace them with your X-Ray figures.",
        ],
    }


def chart(document: Mapping[str, Any], png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    projection = document["results"]
    sizes = projection["sizes"]
    labels = {THIS: "this design", SEED: "seed design"}
    figure, (latency, cost) = plt.subplots(1, 2, figsize=(11, 4.2))
    for design, style in ((THIS, "o-"), (SEED, "s--")):
        rows = [projection["designs"][design][str(n)] for n in sizes]
        latency.plot(
            sizes, [r["booking_ms"] for r in rows], style, label=f"{labels[design]}: booking"
        )
        latency.plot(
            sizes,
            [r["settle_ms"] for r in rows],
            style,
            alpha=0.45,
            label=f"{labels[design]}: settled",
        )
        cost.plot(
            sizes, [r["usd_per_1000_bookings"]["total"] for r in rows], style, label=labels[design]
        )
    for axes in (latency, cost):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("applications per job")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    latency.set_ylabel("projected ms on AWS")
    latency.set_title("Projected booking and settle time")
    cost.set_ylabel("USD per 1,000 bookings (request charges)")
    cost.set_title("Projected cost from measured requests")
    figure.suptitle(
        f"{document['command']}  ·  projection from measured request counts", fontsize=8
    )
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)
    plt.close(figure)


def write(out: Path) -> Path:
    """projection.json and projection.png in ``out``, from the booking.json there."""
    booking = json.loads((out / "booking.json").read_text())
    document = {
        "suite": "projection",
        "command": booking["command"],
        "quick": booking["quick"],
        "measured_at": booking["measured_at"],
        "machine": booking["machine"],
        "results": project(booking["results"]),
    }
    path = out / "projection.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    chart(document, out / "projection.png")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")))
