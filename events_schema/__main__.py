"""``python -m events_schema``: regenerate the committed JSON Schemas from the models.

``--check`` writes nothing and exits 1 while a committed schema is stale (for CI).
"""

from __future__ import annotations

import argparse
import sys

from events_schema.json_schema import CATALOG, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events_schema", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if a committed schema is stale, write nothing"
    )
    arguments = parser.parse_args(argv)
    if arguments.check:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path} (run `python -m events_schema`)", file=sys.stderr)
        return 1 if outdated else 0
    written = write()
    for path in written:
        print(f"wrote {path}")
    print(f"{len(CATALOG) - len(written)} schema(s) already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
