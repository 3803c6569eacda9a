"""Reading a whole topic (or what a group has not consumed yet) up to its current end."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.ops.context import OpsContext


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    # consumer.topics() fetches every topic's metadata but keeps only the names; the consumer's
    # own cache knows only the topics it tracks already.
    cluster = await consumer._client.fetch_all_metadata()
    found = cluster.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(found)]


async def open_consumer(ctx: OpsContext, group: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        **ctx.kafka(
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"sharaka-ops-{ctx.service}",
        )
    )
    await consumer.start()
    return consumer


async def read_to_end(
    consumer: AIOKafkaConsumer, topic: str, *, from_committed: bool
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its end offsets taken now, from the start or (with a group)
    from the group's committed offsets. Manual assignment: the command never joins a group, so
    it cannot trigger a rebalance of anyone's consumers."""
    tps = await partitions(consumer, topic)
    if not tps:
        return []
    consumer.assign(tps)
    ends = await consumer.end_offsets(tps)
    if not from_committed:
        await consumer.seek_to_beginning(*tps)
    records: list[ConsumerRecord[bytes, bytes]] = []
    todo = {tp for tp in tps if ends[tp] > 0}
    for tp in list(todo):
        if await consumer.position(tp) >= ends[tp]:
            todo.discard(tp)
    while todo:
        batch = await consumer.getmany(*todo, timeout_ms=1000)
        for tp, recs in batch.items():
            records.extend(r for r in recs if r.offset < ends[tp])
        for tp in list(todo):
            if await consumer.position(tp) >= ends[tp]:
                todo.discard(tp)
    return records
