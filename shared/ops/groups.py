"""Moving a consumer group's committed offsets (earliest, latest or a point in time).

Kafka only lets offsets be committed from outside a group that has no active members: a running
consumer would overwrite them at its next commit anyway. So the command refuses while any
member is connected and says which: scale the Deployment to 0 first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import topics as _topics
from shared.ops.context import OpsContext
from shared.ops.kafka_io import open_consumer, partitions


@dataclass(frozen=True)
class GroupState:
    group: str
    state: str
    members: list[str]

    @property
    def active(self) -> bool:
        return bool(self.members)


class GroupBusy(RuntimeError):
    pass


#: Committing a group's offset on a topic takes Read on that topic, and nobody but the
#: notifications service may read the private contacts topics: the ops user cannot move a group
#: there. No projection comes from them (they fill people, not lookups).
NOT_RESETTABLE = frozenset({_topics.PLANS_CONTACTS, _topics.CONSULTATION_CONTACTS})


def resettable(ctx: OpsContext, topics: list[str]) -> list[str]:
    return [t for t in topics if ctx.unprefixed(t) not in NOT_RESETTABLE]


async def describe(ctx: OpsContext, group: str) -> GroupState:
    admin = AIOKafkaAdminClient(**ctx.kafka(client_id=f"sharaka-ops-{ctx.service}"))
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    for response in responses:
        for g in response.groups:
            # (error_code, group_id, state, protocol_type, protocol, members[, authorized_ops])
            if g[1] == group:
                members = [f"{m[1]}@{m[2]}" for m in g[5]]  # client_id@client_host
                return GroupState(group, str(g[2]), members)
    return GroupState(group, "Dead", [])


def parse_target(to: str) -> str | datetime:
    """``earliest``, ``latest`` or an ISO 8601 date-time (UTC when it names no zone)."""
    if to in ("earliest", "latest"):
        return to
    try:
        when = datetime.fromisoformat(to)
    except ValueError as e:
        raise ValueError(f"--to must be earliest, latest or an ISO date-time, not {to!r}") from e
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def reset(
    ctx: OpsContext, to: str | datetime, topics: list[str] | None = None
) -> dict[TopicPartition, int]:
    """Commit the new offsets of the service's group on ``topics`` (default: every topic the
    service consumes); the next start reads from there."""
    state = await describe(ctx, ctx.group)
    if state.active:
        raise GroupBusy(
            f"group {ctx.group} has {len(state.members)} active member(s) ({', '.join(state.members)}), "
            f"state {state.state}: the service is running and would overwrite the offsets at its "
            f"next commit. Scale it to 0 first (kubectl -n sharaka scale deploy/sharaka-{ctx.service} "
            "--replicas=0), then run this again."
        )
    wanted = topics or resettable(ctx, ctx.consumed_topics())
    refused = sorted(set(wanted) - set(resettable(ctx, wanted)))
    if refused:
        raise ValueError(
            f"{', '.join(refused)}: private, the ops user may not read it nor move offsets there"
        )
    consumer = await open_consumer(ctx, ctx.group)
    try:
        tps: list[TopicPartition] = []
        for t in wanted:
            tps.extend(await partitions(consumer, t))
        if not tps:
            return {}
        consumer.assign(tps)
        if to == "earliest":
            offsets = await consumer.beginning_offsets(tps)
        elif to == "latest":
            offsets = await consumer.end_offsets(tps)
        else:
            assert isinstance(to, datetime)
            ms = int(to.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(tps, ms))
            ends = await consumer.end_offsets(tps)
            # No record at or after that time: the end (nothing to read again there).
            offsets = {tp: (o.offset if o is not None else ends[tp]) for tp, o in found.items()}
        await consumer.commit(dict(offsets))
        return dict(offsets)
    finally:
        await consumer.stop()
