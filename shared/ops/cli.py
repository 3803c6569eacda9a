"""The command line of :mod:`shared.ops`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from shared.db import MigrationError
from shared.events.topics import dead_letter_topic
from shared.ops import dlq, groups, migrate, rebuild
from shared.ops.context import SERVICES, OpsContext, load_context, read_password

#: Exit codes: 0 done, 1 "something to do" (pending migrations), 2 refused or failed.
REFUSED = 2


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--service", required=True, choices=SERVICES)
    p.add_argument(
        "--kafka-user",
        help="connect as this SASL user (e.g. sharaka-ops) instead of the service's own",
    )
    p.add_argument(
        "--kafka-password-file",
        help="that user's password: a file (a mounted Secret) or - for standard input",
    )
    p.add_argument("--bootstrap", help="local use only: override <SERVICE>_KAFKA_BOOTSTRAP")
    p.add_argument("--topic-prefix", help="local use only: override <SERVICE>_KAFKA_TOPIC_PREFIX")
    p.add_argument("--database-url", help="override <SERVICE>_DATABASE_URL (e.g. a direct connection)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def parser() -> argparse.ArgumentParser:
    common = _common()
    root = argparse.ArgumentParser(
        prog="python -m shared.ops",
        description="Operator commands, connecting with the service's own settings (TLS/SASL).",
    )
    sub = root.add_subparsers(dest="command", required=True)

    d = sub.add_parser("dlq", help="dead letters").add_subparsers(dest="action", required=True)
    d.add_parser("list", parents=[common], help="every dead letter with its reason")
    i = d.add_parser("inspect", parents=[common], help="one dead letter in full")
    i.add_argument("--partition", type=int, required=True)
    i.add_argument("--offset", type=int, required=True)
    r = d.add_parser("replay", parents=[common], help="send back to the source topic, once")
    r.add_argument("--dry-run", action="store_true", help="only say what would be replayed")
    r.add_argument("--limit", type=int, help="replay at most this many")

    g = sub.add_parser("group", help="the service's consumer group").add_subparsers(
        dest="action", required=True
    )
    reset = g.add_parser("reset", parents=[common], help="move the committed offsets")
    reset.add_argument("--to", required=True, help="earliest, latest or an ISO 8601 date-time")
    reset.add_argument("--topic", action="append", help="only this topic (repeatable; default: all consumed)")
    reset.add_argument("--yes", action="store_true", help="really do it")

    rb = sub.add_parser("rebuild", parents=[common], help="rebuild the service's projections")
    rb.add_argument("--yes", action="store_true", help="reset the group (else only print the steps)")

    m = sub.add_parser("migrate", parents=[common], help="apply the service's migrations and exit")
    m.add_argument("--check", action="store_true", help="only list pending ones (exit 1 if any)")
    return root


def _context(args: argparse.Namespace) -> OpsContext:
    password = read_password(args.kafka_password_file) if args.kafka_password_file else None
    return load_context(
        args.service,
        bootstrap=args.bootstrap,
        topic_prefix=args.topic_prefix,
        database_url=args.database_url,
        kafka_user=args.kafka_user,
        kafka_password=password,
    )


def _err(*parts: object) -> None:
    print(*parts, file=sys.stderr)


async def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    ctx = _context(args)
    if args.command == "dlq":
        return await _dlq(ctx, args)
    if args.command == "group":
        return await _group_reset(ctx, args)
    if args.command == "rebuild":
        return await _rebuild(ctx, args)
    return await _migrate(ctx, args)


async def _dlq(ctx: OpsContext, args: argparse.Namespace) -> int:
    if args.action == "inspect":
        found = await dlq.inspect(ctx, args.partition, args.offset)
        if found is None:
            where = f"{ctx.topic(dead_letter_topic(ctx.service))}[{args.partition}]@{args.offset}"
            _err(f"no dead letter at {where}")
            return REFUSED
        print(json.dumps(found.row()) if args.json else dlq.render(found))
        return 0
    if args.action == "list":
        letters = await dlq.list_letters(ctx)
        _print_rows(letters, args.json)
        _err(f"{len(letters)} dead letters")
        return 0
    letters = await dlq.replay(ctx, dry_run=args.dry_run, limit=args.limit)
    sent = [d for d in letters if not d.unreplayable]
    _print_rows(sent, args.json)
    verb = "dead letters would be replayed (dry run)" if args.dry_run else "dead letters replayed"
    _err(f"{len(sent)} {verb}")
    passed = [d for d in letters if d.unreplayable]
    if passed:
        _err(
            f"{len(passed)} from a private contacts topic passed over (the ops user may not write "
            "there; the owning service re-publishes the contact): "
            + ", ".join(f"{d.partition}@{d.offset}" for d in passed)
        )
    return 0


def _print_rows(letters: list[dlq.DeadLetter], as_json: bool) -> None:
    for d in letters:
        row = d.row()
        print(json.dumps(row) if as_json else "  ".join(f"{k}={v}" for k, v in row.items()))


async def _group_reset(ctx: OpsContext, args: argparse.Namespace) -> int:
    try:
        target = groups.parse_target(args.to)
    except ValueError as e:
        _err(e)
        return REFUSED
    if not args.yes:
        _err(f"would reset {ctx.group} to {args.to}; add --yes to do it (with the service stopped)")
        return REFUSED
    topics = [ctx.topic(t) for t in args.topic] if args.topic else None
    try:
        offsets = await groups.reset(ctx, target, topics)
    except (groups.GroupBusy, ValueError) as e:
        _err(f"refused: {e}")
        return REFUSED
    for tp, offset in sorted(offsets.items()):
        print(f"{tp.topic}[{tp.partition}] -> {offset}")
    _err(f"group {ctx.group}: {len(offsets)} partition(s) reset to {args.to}")
    return 0


async def _rebuild(ctx: OpsContext, args: argparse.Namespace) -> int:
    topics = groups.resettable(ctx, ctx.consumed_topics())
    for line in rebuild.steps(ctx.service, ctx.group, topics):
        print(line)
    if not args.yes:
        _err("nothing done: add --yes to reset the group (step 4) once steps 1-3 are done")
        return 0
    try:
        offsets = await groups.reset(ctx, "earliest", topics)
    except groups.GroupBusy as e:
        _err(f"refused: {e}")
        return REFUSED
    _err(f"step 4 done: group {ctx.group} at the earliest offsets of {len(offsets)} partition(s)")
    return 0


async def _migrate(ctx: OpsContext, args: argparse.Namespace) -> int:
    try:
        if args.check:
            todo = await migrate.pending(ctx)
            for m in todo:
                print(f"pending {m}")
            _err(f"{len(todo)} pending migration(s) for {ctx.service}")
            return 1 if todo else 0
        done = await migrate.apply(ctx)
    except MigrationError as e:
        _err(f"refused: {e}")
        return REFUSED
    for m in done:
        print(f"applied {m}")
    _err(f"{len(done)} migration(s) applied for {ctx.service}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(argv))
