"""An example subscriber for other OGP systems: ``python -m examples.subscriber --help``.

It reads one Sharaka topic from the start, checks every record against the published JSON Schemas
(``schemas/events/``), deduplicates on ``ce_id``, skips event types and versions it does not know,
and never stops on a bad record. See ``docs/subscribing.md``.
"""

from examples.subscriber.subscriber import Summary, run

__all__ = ["Summary", "run"]
