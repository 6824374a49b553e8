"""`kubectl-maintenance`: the kubectl plugin (`kubectl maintenance ...`)."""

import argparse
import sys
from collections.abc import Sequence

from maintenance_operator import schedule as sched
from maintenance_operator.cli import (
    announce,
    announcements,
    apps,
    backups,
    dbs,
    nodes,
    preview,
    require,
    restart,
    windows,
)
from maintenance_operator.cli.errors import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl maintenance",
        description="See and drive maintenance windows, pending maintenance, announcements and backups.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in (apps, dbs, windows, require, restart, preview, backups, announce, announcements, nodes):
        verb.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except sched.ScheduleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
