"""The producers' partitioner remembers key hashes and must place every key exactly where Kafka's
default partitioner does (other producers of the same keys, and per-key order, depend on it)."""

from __future__ import annotations

import os

from aiokafka.partitioner import DefaultPartitioner

from shared.kafka import partition_for


def test_every_key_lands_where_the_default_partitioner_puts_it() -> None:
    default = DefaultPartitioner()
    for n in (1, 3, 6, 12):
        partitions = list(range(n))
        for _ in range(2000):
            key = os.urandom(int.from_bytes(os.urandom(1)) % 40)
            assert partition_for(key, partitions, partitions) == default(key, partitions, partitions)
            assert partition_for(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert partition_for(None, [0, 1, 2], [2]) == 2
