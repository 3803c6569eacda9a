"""Former home of the dead-letter command, kept as an alias: use ``python -m shared.ops dlq``.

``python -m shared.dlq list --service irm`` runs ``python -m shared.ops dlq list --service irm``
(same for ``replay`` and ``inspect``, with every option passed on). The functions below keep the
old call shape (bootstrap, service, prefix) for scripts; they connect with the service's
settings like :mod:`shared.ops` does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from shared.ops import dlq as _dlq
from shared.ops.cli import main as _ops_main
from shared.ops.context import load_context
from shared.ops.dlq import DeadLetter

__all__ = ["DeadLetter", "list_letters", "main", "replay"]


async def list_letters(bootstrap: str, service: str, prefix: str = "") -> list[DeadLetter]:
    return await _dlq.list_letters(load_context(service, bootstrap=bootstrap, topic_prefix=prefix))


async def replay(bootstrap: str, service: str, prefix: str = "") -> list[DeadLetter]:
    """Send every dead letter not replayed before back to its source topic."""
    return await _dlq.replay(load_context(service, bootstrap=bootstrap, topic_prefix=prefix))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return _ops_main(["dlq", *args])


if __name__ == "__main__":
    raise SystemExit(main())
