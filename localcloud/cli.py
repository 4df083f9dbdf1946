"""``python -m localcloud``: run the whole system locally, and the tools to work with it.

python -m localcloud up [--seed]          # serve in the foreground; Ctrl-C stops everything
python -m localcloud status               # what runs where
python -m localcloud outputs              # the stack's outputs (cdk deploy --outputs-file shape)
python -m localcloud user create --type parent|nanny|admin
python -m localcloud events tail          # every event on the bus, live
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localcloud.runtime import (
    DEFAULT_EDGE_PORT,
    DEFAULT_GRAPHQL_PORT,
    DEFAULT_STATE_DIR,
    OUTPUTS_FILE,
    PROJECT_ROOT,
    STATUS_FILE,
    LocalCloud,
    Status,
    startup_report,
)

DEFAULT_TEMPLATE = PROJECT_ROOT / "cdk.out" / "NannyBooking.template.json"
SEED_USERS = ("parent", "nanny", "nanny", "admin")


DESCRIPTION = "Run the nanny booking backend locally, and the tools to work with it."


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except CliError as error:
        print(f"localcloud: {error}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=DESCRIPTION)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where data, checkpoints and outputs live (default: .localcloud)",
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    up = commands.add_parser("up", help="run everything in the foreground until Ctrl-C")
    up.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE,
                    help="the synthesized template (make up runs cdk synth first)")  # fmt: skip
    up.add_argument("--edge-port", type=int, default=DEFAULT_EDGE_PORT)
    up.add_argument("--graphql-port", type=int, default=DEFAULT_GRAPHQL_PORT)
    up.add_argument(
        "--seed", action="store_true", help="create demo users and print how to sign in"
    )
    up.set_defaults(run=_up)

    status = commands.add_parser("status", help="what runs and where")
    status.set_defaults(run=_status)

    outputs = commands.add_parser("outputs", help="print the stack's outputs")
    outputs.set_defaults(run=_outputs)

    user = commands.add_parser("user", help="users for local development").add_subparsers(
        required=True, metavar="action"
    )
    create = user.add_parser("create", help="a Cognito user with a profile, and its token")
    create.add_argument("--type", required=True, choices=("parent", "nanny", "admin"))
    create.add_argument("--username")
    create.add_argument("--password")
    create.set_defaults(run=_user_create)

    events = commands.add_parser("events", help="the event bus").add_subparsers(
        required=True, metavar="action"
    )
    tail = events.add_parser("tail", help="print every event on the bus until Ctrl-C")
    tail.set_defaults(run=_events_tail)
    return parser


# -- up ---------------------------------------------------------------------------------


def _up(args: argparse.Namespace) -> int:
    if not args.template.exists():
        raise CliError(f"{args.template} does not exist: run `make up` (it synthesizes first)")
    status_file = args.state_dir / STATUS_FILE
    if status_file.exists() and _alive(Status.load(status_file).pid):
        raise CliError(f"already running (pid {Status.load(status_file).pid}); see `status`")
    template = json.loads(args.template.read_text(encoding="utf-8"))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print("localcloud: starting…", flush=True)
    cloud = LocalCloud(
        template,
        state_dir=args.state_dir,
        edge_port=args.edge_port,
        graphql_port=args.graphql_port,
        log_stream=sys.stdout,
    )
    try:
        cloud.start()
        print(f"localcloud: up\n{startup_report(cloud.parts)}", flush=True)
        outputs = cloud.outputs
        print(f"\n  AWS_ENDPOINT_URL={cloud.edge_url}   outputs: {cloud.outputs_path}")
        print(f"  GraphQL: {outputs['GraphQLUrl']}   API key: {outputs['GraphQLApiKey']}\n")
        if args.seed:
            _seed(cloud.outputs, cloud.edge_url)
        print("localcloud: serving; Ctrl-C stops everything", flush=True)
        stop.wait()
    finally:
        print("localcloud: stopping…", flush=True)
        cloud.stop()
        print("localcloud: stopped", flush=True)
    return 0


def _seed(outputs: dict[str, str], edge_url: str) -> None:
    from localcloud.developer_tools import create_user

    print("Demo users (password, then an ID token for the GraphiQL page's Authorization header):")
    # Fresh names each run: Cognito accounts (in moto) do not survive a restart, while the
    # profiles (in DynamoDB) do, and a profile stays with the account that created it.
    for user_type in SEED_USERS:
        user = create_user(outputs, user_type, endpoint_url=edge_url)
        print(
            f"  {user.user_type:<6} {user.username:<14} {user.password}\n         {user.id_token}"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the tools ---------------------------------------------------------------------------


def _running(state_dir: Path) -> Status:
    path = state_dir / STATUS_FILE
    if not path.exists():
        raise CliError("the local cloud is not running: start it with `make up`")
    status = Status.load(path)
    if not _alive(status.pid):
        raise CliError(f"the local cloud (pid {status.pid}) is gone: start it with `make up`")
    return status


def _outputs_of(state_dir: Path) -> dict[str, str]:
    path = state_dir / OUTPUTS_FILE
    if not path.exists():
        raise CliError(f"no {path}: start the local cloud with `make up`")
    (outputs,) = json.loads(path.read_text(encoding="utf-8")).values()
    return dict(outputs)


def _status(args: argparse.Namespace) -> int:
    status = _running(args.state_dir)
    print(f"running, pid {status.pid}\n{startup_report(status.parts)}")
    health = {
        "edge router": f"{status.edge_url}/_localcloud/health",
        "GraphQL endpoint": status.graphql_url.removesuffix("/graphql") + "/health",
    }
    for name, url in health.items():
        print(f"  {name}: {'answers' if _answers(url) else 'NOT ANSWERING'} ({url})")
    return 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own 127.0.0.1 URLs
            return True
    except OSError:
        return False


def _outputs(args: argparse.Namespace) -> int:
    print(json.dumps(_outputs_of(args.state_dir), indent=2))
    return 0


def _user_create(args: argparse.Namespace) -> int:
    from localcloud.developer_tools import create_user

    status = _running(args.state_dir)
    user = create_user(
        _outputs_of(args.state_dir),
        args.type,
        username=args.username,
        password=args.password,
        endpoint_url=status.edge_url,
    )
    print(json.dumps({"username": user.username, "password": user.password,
                      "type": user.user_type, "idToken": user.id_token}, indent=2))  # fmt: skip
    return 0


def _events_tail(args: argparse.Namespace) -> int:
    from localcloud.developer_tools import tail_events

    status = _running(args.state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("watching the bus; Ctrl-C stops", file=sys.stderr)
    for event in tail_events(
        _outputs_of(args.state_dir), endpoint_url=status.edge_url, stop=stop.is_set
    ):
        print(json.dumps(event), flush=True)
    return 0


def run() -> Any:
    sys.exit(main())
