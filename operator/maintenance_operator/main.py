"""`maintenance-operator`: the operator process."""

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="maintenance-operator",
        description="Runs maintenance and backups of the selected workloads inside their windows.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    build_parser().parse_args(argv)
    print("maintenance-operator: reconciliation is not implemented yet (see the open issues)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
