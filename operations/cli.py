"""``python -m operations``: replay the archive, and list, peek at and redrive the DLQs.

python -m operations replay --from 2026-05-01T12:00:00Z|2h [--to …] [--consumer NAME …]
python -m operations replay-status NAME [--wait]
python -m operations dlq list
python -m operations dlq peek NAME [--max N]
python -m operations dlq redrive NAME [--method auto|move-task|copy] [--max N]
python -m operations pipe reread [--dry-run] [--max N]

Every command takes ``--outputs FILE`` (default ``.localcloud/outputs.json`` when it
exists, else ``cdk-outputs.json``), ``--endpoint-url URL`` (default ``AWS_ENDPOINT_URL``,
else the running local cloud for local outputs, else AWS) and ``--json`` (machine-readable
output on stdout). Runbooks: docs/operations.md.

Exit status: 0 done; 1 an error (printed, no traceback); 2 wrong usage; 3 the replay or
redrive ran but did not finish cleanly (FAILED, CANCELLED, messages that failed, or the
wait ran out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from operations import redrive as dlq
from operations import replay
from operations.stack import Clients, OperationsError, StackOutputs, default_outputs_file
from operations.stack import resolve_endpoint as resolve
from stacks.constants import Output

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_INCOMPLETE: Final = 3

DESCRIPTION = "Operate the nanny booking stack: replay the event archive, redrive DLQs."


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run one command; returns the exit status (see the module docstring)."""
    out = stdout or sys.stdout
    args = _parser().parse_args(argv)
    # Not parser.set_defaults: it would change the actions the subcommands share.
    for name in ("outputs", "endpoint_url", "json"):
        if not hasattr(args, name):
            setattr(args, name, None if name != "json" else False)
    try:
        outputs = StackOutputs.load(args.outputs or default_outputs_file())
        endpoint = resolve(args.endpoint_url, outputs)
        print(f"operations: {outputs.path} on {endpoint.source}", file=sys.stderr)
        clients = Clients.connect(endpoint.url, outputs.region)
        run: Callable[[argparse.Namespace, Clients, StackOutputs, TextIO], int] = args.run
        return run(args, clients, outputs, out)
    except OperationsError as error:
        print(f"operations: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ClientError as error:
        details = error.response.get("Error", {})
        print(
            f"operations: AWS refused {error.operation_name}: {details.get('Code')}: "
            f"{details.get('Message')}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except BotoCoreError as error:  # no credentials, endpoint unreachable, …
        print(f"operations: {error}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    # The common options work before or after the command; SUPPRESS keeps a subcommand's
    # unset option from overwriting one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--outputs",
        type=Path,
        default=argparse.SUPPRESS,
        help="the stack's outputs file (default: .localcloud/outputs.json if it exists, "
        "else cdk-outputs.json)",
    )
    common.add_argument(
        "--endpoint-url",
        default=argparse.SUPPRESS,
        help="the AWS endpoint (default: AWS_ENDPOINT_URL; for local outputs, the running "
        "local cloud; else AWS)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON on stdout"
    )
    parser = argparse.ArgumentParser(
        prog="python -m operations", description=DESCRIPTION, parents=[common]
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    start = commands.add_parser(
        "replay",
        parents=[common],
        help="replay the archive for a time window to chosen consumers",
        description="StartReplay from the stack's archive, scoped to the consumers' rules "
        "(Destination.FilterArns). Times: ISO 8601 (naive = UTC), `now`, or a time ago: "
        "30m, 2h, 1d (also -30m, written --from=-30m).",
    )
    start.add_argument("--from", dest="start", required=True, help="window start (inclusive)")
    start.add_argument("--to", dest="end", help="window end (exclusive; default: now)")
    start.add_argument(
        "--consumer",
        action="append",
        default=[],
        help="a consumer to replay to (repeatable; default: every consumer of the stack)",
    )
    start.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait until the replay ends (default: wait)",
    )
    start.add_argument(
        "--timeout", type=float, default=replay.DEFAULT_TIMEOUT_SECONDS, help="seconds to wait"
    )
    start.add_argument("--name", help="the replay's name (default: ops-replay-<time>-<random>)")
    start.set_defaults(run=_replay)

    status = commands.add_parser(
        "replay-status", parents=[common], help="a replay's state (DescribeReplay)"
    )
    status.add_argument("name")
    status.add_argument("--wait", action="store_true", help="wait until the replay ends")
    status.add_argument("--timeout", type=float, default=replay.DEFAULT_TIMEOUT_SECONDS)
    status.set_defaults(run=_replay_status)

    queues = commands.add_parser(
        "dlq", parents=[common], help="the stack's dead-letter queues"
    ).add_subparsers(required=True, metavar="action")
    listing = queues.add_parser(
        "list", parents=[common], help="every DLQ of the stack and its message counts"
    )
    listing.set_defaults(run=_dlq_list)
    peek = queues.add_parser(
        "peek", parents=[common], help="show a DLQ's messages without consuming them"
    )
    peek.add_argument("queue", metavar="NAME", help="a DLQ name from `dlq list`")
    peek.add_argument("--max", type=int, default=dlq.SQS_BATCH, help="messages to show")
    peek.set_defaults(run=_dlq_peek)
    move = queues.add_parser(
        "redrive", parents=[common], help="move a DLQ's messages back to the consumer's queue"
    )
    move.add_argument("queue", metavar="NAME", help="a DLQ name from `dlq list`")
    move.add_argument(
        "--method",
        choices=("auto", "move-task", "copy"),
        default="auto",
        help="auto: StartMessageMoveTask where SQS offers it, else copy (receive/send/delete)",
    )
    move.add_argument("--max", type=int, help="move at most this many (copy only)")
    move.add_argument(
        "--timeout", type=float, default=dlq.DEFAULT_TIMEOUT_SECONDS, help="seconds to wait"
    )
    move.set_defaults(run=_dlq_redrive)

    pipe = commands.add_parser(
        "pipe", parents=[common], help="what the JobClosed pipe gave up on"
    ).add_subparsers(required=True, metavar="action")
    reread = pipe.add_parser(
        "reread",
        parents=[common],
        help="re-read the stream records the pipe's DLQ names and put their events on the bus",
        description="For each PipeDeadLetterQueue message: read its records back from the "
        "table's stream (while it keeps them, 24 hours), make their JobClosed events with the "
        "pipe's filter and template, put them on the bus, delete the message.",
    )
    reread.add_argument("--dry-run", action="store_true", help="show the events, send nothing")
    reread.add_argument("--max", type=int, help="at most this many DLQ messages")
    reread.set_defaults(run=_pipe_reread)
    return parser


# -- replay ----------------------------------------------------------------------------------


def _replay(args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO) -> int:
    now = dt.datetime.now(dt.UTC)
    request = replay.ReplayRequest(
        start=replay.parse_time(args.start, now),
        end=replay.parse_time(args.end, now) if args.end else None,
        consumers=args.consumer,
        wait=args.wait,
        timeout_seconds=args.timeout,
        name=args.name,
    )
    report = replay.run_replay(clients, outputs, request, now=now)
    if args.json:
        _print_json(report.as_dict(), out)
    else:
        _print_replay(report, out)
    return EXIT_OK if report.succeeded else EXIT_INCOMPLETE


def _print_replay(report: replay.ReplayReport, out: TextIO) -> None:
    data = report.as_dict()
    reason = f" ({data['stateReason']})" if data["stateReason"] else ""
    lines = [
        f"replay {report.name}: {report.state}{reason}",
        f"  window         {data['eventStartTime']} .. {data['eventEndTime']} (end excluded)",
    ]
    for consumer, arns in sorted(report.rules.items()):
        lines.append(f"  to consumer    {consumer}: {', '.join(arns)}")
    lines += [
        f"  last replayed  {data['eventLastReplayedTime'] or '-'} (time of the last event sent)",
        f"  archive        {report.archive.name} ({report.archive.state}, "
        f"{_count(report.archive.event_count)} events in all)",
        f"  started        {data['replayStartTime'] or '-'}   ended {data['replayEndTime'] or '-'}",
    ]
    if report.timed_out:
        lines.append(
            f"  still {report.state} when the wait ran out: "
            f"`python -m operations replay-status {report.name} --wait`"
        )
    elif not report.waited:
        lines.append(f"  follow it: `python -m operations replay-status {report.name} --wait`")
    lines += [f"warning: {warning}" for warning in report.warnings]
    print("\n".join(lines), file=out)


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _replay_status(
    args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO
) -> int:
    deadline = time.monotonic() + args.timeout
    while True:
        described = replay.describe(clients, args.name)
        state = described.get("State")
        if not args.wait or state in replay.TERMINAL_STATES or time.monotonic() >= deadline:
            break
        time.sleep(replay.POLL_SECONDS)
    shown = {
        key: value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value
        for key, value in described.items()
        if key != "ResponseMetadata"
    }
    if args.json:
        _print_json(shown, out)
    else:
        for key, value in shown.items():
            print(f"  {key:<22} {value}", file=out)
    done = state == "COMPLETED" or (not args.wait and state not in replay.TERMINAL_STATES)
    return EXIT_OK if done else EXIT_INCOMPLETE


# -- dlq -------------------------------------------------------------------------------------


def _dlq_list(
    args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO
) -> int:
    queues = dlq.stack_dead_letter_queues(clients, outputs)
    rows: list[dict[str, Any]] = []
    for queue in queues:
        counts = dlq.queue_counts(clients.sqs, queue.url)
        rows.append(
            {
                "name": queue.name,
                "kind": queue.kind.value,
                "consumer": queue.consumer,
                "url": queue.url,
                "approximateNumberOfMessages": counts.visible,
                "approximateNumberOfMessagesNotVisible": counts.in_flight,
                "redrivesTo": queue.destination_url,
            }
        )
    if args.json:
        _print_json({"deadLetterQueues": rows}, out)
        return EXIT_OK
    width = max((len(row["name"]) for row in rows), default=4)
    print(f"{'NAME':<{width}}  {'KIND':<11}  {'MESSAGES':>8}  {'IN FLIGHT':>9}  REDRIVE", file=out)
    for row in rows:
        target = row["redrivesTo"]
        if target:
            redrive = target.rstrip("/").rpartition("/")[2]
        else:  # nothing to send them back to: what to do instead
            redrive = "- (pipe reread)" if row["kind"] == "pipe" else "- (replay its rule)"
        print(
            f"{row['name']:<{width}}  {row['kind']:<11}  "
            f"{row['approximateNumberOfMessages']:>8}  "
            f"{row['approximateNumberOfMessagesNotVisible']:>9}  {redrive}",
            file=out,
        )
    return EXIT_OK


def _find(clients: Clients, outputs: StackOutputs, name: str) -> dlq.DeadLetterQueue:
    queues = dlq.dead_letter_queues(outputs)
    try:
        return dlq.find_queue(queues, name)
    except OperationsError:
        # Not one the outputs name: a rule target's DLQ needs the rules read.
        return dlq.find_queue(dlq.stack_dead_letter_queues(clients, outputs), name)


def _dlq_peek(
    args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO
) -> int:
    queue = _find(clients, outputs, args.queue)
    messages = dlq.peek(clients.sqs, queue, args.max)
    now = dt.datetime.now(dt.UTC)
    shown = [message.as_dict(now) for message in messages]
    if args.json:
        _print_json({"queue": queue.name, "kind": queue.kind.value, "messages": shown}, out)
        return EXIT_OK
    print(
        f"{queue.name} ({queue.kind.value}): {len(shown)} message(s), left in the queue", file=out
    )
    for item in shown:
        print(
            f"\n- {item['messageId']}  sent {item['sent']}  "
            f"received {item['approximateReceiveCount']} time(s)",
            file=out,
        )
        if item["messageAttributes"]:
            print(f"  attributes: {json.dumps(item['messageAttributes'])}", file=out)
        batch = item.get("streamBatch")
        if batch:
            gone = "" if batch["stillInStream"] else "  (NO LONGER IN THE STREAM)"
            print(
                f"  stream batch: shard {batch['shardId']} sequence numbers "
                f"{batch['startSequenceNumber']}..{batch['endSequenceNumber']} "
                f"({batch['batchSize']} record(s), {batch['condition']}); "
                f"in the stream until {batch['inStreamUntil']}{gone}",
                file=out,
            )
        body = item["body"]
        text = json.dumps(body, indent=2) if not isinstance(body, str) else body
        print("  " + text.replace("\n", "\n  "), file=out)
    return EXIT_OK


def _dlq_redrive(
    args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO
) -> int:
    queue = _find(clients, outputs, args.queue)
    report = dlq.redrive(
        clients.sqs, queue, method=args.method, max_messages=args.max, timeout_seconds=args.timeout
    )
    if args.json:
        _print_json(report.as_dict(), out)
    else:
        destination = report.destination_url.rstrip("/").rpartition("/")[2]
        print(
            f"{queue.name} -> {destination} ({report.method}): moved {report.moved}, "
            f"failed {report.failed}, left in the DLQ {_count(report.remaining)}",
            file=out,
        )
        if report.not_deleted:
            print(
                f"  {report.not_deleted} sent but not deleted from the DLQ: they will show "
                "up there again (a duplicate the consumer ignores)",
                file=out,
            )
        for failure in report.failures:
            print(f"  failed: {failure}", file=out)
        for note in report.notes:
            print(f"  note: {note}", file=out)
    return EXIT_OK if report.succeeded else EXIT_INCOMPLETE


# -- pipe ------------------------------------------------------------------------------------


def _pipe_reread(
    args: argparse.Namespace, clients: Clients, outputs: StackOutputs, out: TextIO
) -> int:
    from operations import pipe  # the local cloud's Pipes semantics: loaded only when needed

    report = pipe.reread(
        clients.sqs,
        clients.streams,
        clients.events,
        queue_url=outputs.require(Output.PIPE_DEAD_LETTER_QUEUE_URL),
        bus_name=outputs.require(Output.EVENT_BUS_NAME),
        dry_run=args.dry_run,
        max_messages=args.max,
    )
    if args.json:
        _print_json(report.as_dict(), out)
    else:
        sent = f"would put {len(report.events)}" if report.dry_run else f"put {report.events_put}"
        print(
            f"PipeDeadLetterQueue: {report.messages} message(s), {report.records_read} "
            f"record(s) read back, {sent} JobClosed event(s), {report.resolved} message(s) "
            "resolved and deleted",
            file=out,
        )
        if report.dry_run:
            for entry in report.events:
                print("  " + entry["Detail"], file=out)
        for reason in report.left:
            print(f"  left: {reason}", file=out)
    return EXIT_OK if report.succeeded else EXIT_INCOMPLETE


def _print_json(document: Any, out: TextIO) -> None:
    print(json.dumps(document, indent=2, default=str), file=out)
