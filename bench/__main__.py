"""``python -m bench [--quick] [--out DIR] [SUITE ...]``: run the benchmarks, write results.

Suites: ``booking`` (bookNanny and the settling of a booking, this design against the
seed's, requests and consumed capacity) and ``graphql`` (the GraphQL endpoint under
load). One local cloud serves the whole run, so the designs a suite compares are
measured side by side on the same cloud. After the booking suite, its measured request
counts are priced and timed per hop for AWS (``bench.projection``). ``--quick`` runs
every suite with small sizes and short durations: the smoke test ``make test`` runs (its
figures are not results).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from bench import machine, projection
from bench.cloud import running_cloud

RESULTS = Path(__file__).parent / "results"


def suites() -> dict[str, ModuleType]:
    """Each suite module has ``run(cloud, quick) -> dict`` and ``chart(document, path)``."""
    from bench import booking, graphql_load

    return {"booking": booking, "graphql": graphql_load}


def main(argv: list[str] | None = None) -> int:
    available = suites()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", nargs="*", help=f"{', '.join(available)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="default: bench/results")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.suite) - set(available))
    if unknown:
        parser.error(f"no such suite: {', '.join(unknown)} (choose from {', '.join(available)})")
    args.out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    with (
        tempfile.TemporaryDirectory(prefix="bench-cloud-") as state,
        running_cloud(Path(state)) as cloud,
    ):
        for name in args.suite or list(available):
            suite = available[name]
            print(f"bench: {name} ...", flush=True)
            started = time.monotonic()
            results = suite.run(cloud, args.quick)
            document = {
                "suite": name,
                "command": command,
                "quick": args.quick,
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 1),
                "machine": machine.describe(),
                "results": results,
            }
            path = args.out / f"{name}.json"
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            suite.chart(document, args.out / f"{name}.png")
            print(f"bench: {name} done in {document['seconds']} s -> {path}", flush=True)
            if name == "booking":
                print(f"bench: AWS projection -> {projection.write(args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
