"""`kubectl maintenance preview`: see when a schedule's windows fall before writing a manifest."""

import argparse
from datetime import UTC, datetime

from maintenance_operator import schedule as sched
from maintenance_operator.cli.output import FORMATS, structured, table


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "preview",
        help="print the next windows of a schedule",
        description="Print the next windows of a schedule: start and end in UTC and in the zone, and the "
        "occurrence id the operator uses for them. Nothing is read from the cluster.",
    )
    p.add_argument("schedule", help="5-field cron expression or macro, e.g. '0 14 * * 2' or @daily")
    p.add_argument("--duration", default="1h", help="window length, e.g. 1h, 90m (default 1h)")
    p.add_argument("--time-zone", default="UTC", help="IANA zone of the schedule (default UTC)")
    p.add_argument("--count", type=int, default=5, help="how many windows (default 5)")
    p.add_argument(
        "--from", dest="start", default=None, help="list windows starting after this RFC 3339 time (default now)"
    )
    p.add_argument("-o", "--output", choices=FORMATS, default="table")
    p.set_defaults(run=run)


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise sched.ScheduleError(
            (sched.Problem("--from", f"{text!r} is not an RFC 3339 time, e.g. 2026-12-01T14:00:00Z"),)
        ) from None
    if value.tzinfo is None:
        raise sched.ScheduleError(
            (sched.Problem("--from", f"{text!r} has no UTC offset; add one, e.g. 2026-12-01T14:00:00Z"),)
        )
    return value.astimezone(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise sched.ScheduleError((sched.Problem("--count", "must be 1 or more"),))
    ws = sched.WindowSchedule.parse(args.schedule, args.duration, args.time_zone)
    start = _parse_time(args.start) if args.start else datetime.now(UTC)
    occurrences = sched.next_occurrences(ws, start, args.count)
    if args.output != "table":
        print(structured([{"id": o.id, "start": _iso(o.start), "end": _iso(o.end)} for o in occurrences], args.output))
        return 0
    zone = args.time_zone
    rows = [
        (
            o.id,
            _iso(o.start),
            _iso(o.end),
            o.start.astimezone(ws.zone).strftime("%a %Y-%m-%d %H:%M %Z"),
            o.end.astimezone(ws.zone).strftime("%a %Y-%m-%d %H:%M %Z"),
        )
        for o in occurrences
    ]
    print(table(["id", "start (UTC)", "end (UTC)", f"start ({zone})", f"end ({zone})"], rows))
    return 0
