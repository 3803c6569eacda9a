"""``python -m examples.subscriber --bootstrap localhost:9092 --topic ogp.plans.v1 --group my-system``

For the production cluster add ``--tls --username my-system --ca-file ca.crt`` and put the
password in ``SHARAKA_KAFKA_PASSWORD``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from examples.subscriber.subscriber import DEFAULT_SCHEMAS, Security, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.subscriber", description=__doc__)
    parser.add_argument("--bootstrap", required=True, help="host:port of the Kafka bootstrap")
    parser.add_argument("--topic", required=True, help="e.g. ogp.plans.v1")
    parser.add_argument("--group", required=True, help="your consumer group, e.g. my-system")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="folder of <type>.json")
    parser.add_argument("--max-records", type=int, default=None, help="stop after this many records")
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="stop when nothing arrives for so long"
    )
    parser.add_argument("--tls", action="store_true", help="SASL_SSL with SCRAM-SHA-512")
    parser.add_argument("--username", default=None, help="your KafkaUser (password: $SHARAKA_KAFKA_PASSWORD)")
    parser.add_argument("--ca-file", default=None, help="the cluster CA certificate(s), PEM")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    security = Security(
        protocol="SASL_SSL" if args.tls else "PLAINTEXT",
        username=args.username,
        password=os.environ.get("SHARAKA_KAFKA_PASSWORD"),
        ca_file=args.ca_file,
    )
    summary = asyncio.run(
        run(
            bootstrap=args.bootstrap,
            topic=args.topic,
            group=args.group,
            schemas=args.schemas,
            max_records=args.max_records,
            idle_seconds=args.idle_seconds,
            security=security,
        )
    )
    print(json.dumps(summary.as_dict(), sort_keys=True) if args.json else summary.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
