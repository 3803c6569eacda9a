"""Rebuilding a service's projections (what it only knows from other services' topics).

No Sharaka database is rebuilt by dropping it: each one also holds the service's own records,
its sources of truth. What can be rebuilt are the projection tables that the service's
reactions fill from other services' topics: emptied, then refilled by reading those topics again
from the earliest offset. The inbox remembers which events were applied, so the consumer's inbox
rows for those topics are deleted too, or the re-read events would be skipped. Every handler is
idempotent by natural keys (a review per plan and kind, a delivery per cause event, template and
channel), so re-running the other handlers on the re-read events changes nothing.

``rebuild`` prints the steps for the service; with ``--yes`` it does the Kafka part (resets the
service's group to the earliest offsets, refusing while the service runs). It never empties a
table or drops a database itself: the SQL is printed for the operator to run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stores:
    #: Tables only this service writes from its own API and timers: never dropped.
    truth: tuple[str, ...]
    #: Tables filled only from other services' topics: can be emptied and read again.
    rebuildable: tuple[str, ...]
    note: str


STORES: dict[str, Stores] = {
    "plans": Stores(
        truth=("members", "contacts", "plans", "commitments", "milestones", "milestone_updates",
               "member_status_history", "eligibility_scores", "commitment_history", "documents",
               "timer_emissions", "outbox", "plan_page_versions", "import_jobs"),
        rebuildable=(),
        note="Source of truth for members, plans and commitments. Its reactions (IRM assessments "
        "and findings, consultation response tables and forum meetings) update its own tables in "
        "place, so there is no separate projection to rebuild: a group reset alone only re-reads "
        "(the inbox skips what was applied). plan_page_versions is kept by triggers on the plans, "
        "commitments and milestones themselves, in their transactions. import_jobs records the "
        "background imports (their state and report, never the file).",
    ),
    "consultation": Stores(
        truth=("rounds", "offline_events", "participants", "inputs", "input_flags", "moderation_log",
               "responses", "response_inputs", "response_tables", "participation_reports",
               "forums", "forum_members", "forum_meetings", "author_contacts", "erasures",
               "timer_emissions", "outbox"),
        rebuildable=("co_creation_spaces", "commitment_spaces"),
        note="Source of truth for rounds, inputs, responses and forums. co_creation_spaces and "
        "commitment_spaces mirror ogp.plans.v1.",
    ),
    "irm": Stores(
        truth=("reviews", "researchers", "review_comments", "review_emissions", "assessments",
               "finding_plans", "finding_members", "process_findings", "procedural_reviews",
               "compliance_decisions", "compliance_assessments", "outbox"),
        rebuildable=("plans_seen", "irm_commitments", "compliance_facts"),
        note="Source of truth for reviews, comments, assessments and findings. plans_seen and "
        "irm_commitments mirror ogp.plans.v1; compliance_facts record ogp.consultation.v1 and "
        "ogp.plans.v1 events.",
    ),
    "notifications": Stores(
        truth=("recipients", "subscriptions", "consents", "deliveries", "digest_items", "erasures",
               "gateway_reports", "outbox"),
        rebuildable=("members_seen", "rounds_seen", "reviews_seen", "plan_contacts"),
        note="Source of truth for subscriptions, consents and deliveries (and the people who "
        "subscribed themselves, in recipients). The lookups (members_seen, rounds_seen, "
        "reviews_seen, plan_contacts) mirror the public topics. Contacts and authors in "
        "recipients come from the compacted private contacts topics; they are not emptied "
        "(deliveries refer to them), a re-read refreshes them. Re-read events do not send "
        "anything twice: a delivery is unique per cause event, template and channel.",
    ),
}  # fmt: skip


def steps(service: str, group: str, topics: list[str]) -> list[str]:
    """The procedure an operator follows, with the exact commands."""
    s = STORES[service]
    dep = f"deploy/sharaka-{service}"
    quoted = ", ".join(f"'{t}'" for t in topics)
    out = [
        f"# {service}: {s.note}",
        f"# Sources of truth (never emptied): {', '.join(s.truth)}",
        f"# Rebuildable from the topics: {', '.join(s.rebuildable) or '(none)'}",
        f"1. Stop the consumers: kubectl -n sharaka scale {dep} --replicas=0",
        "2. Back up the database (the sources of truth live in the same database).",
    ]
    if s.rebuildable:
        sql = (
            f"     BEGIN;\n     TRUNCATE {', '.join(s.rebuildable)};\n"  # noqa: S608
            f"     DELETE FROM inbox WHERE consumer = '{group}' AND topic IN ({quoted});\n"
            "     COMMIT;"
        )  # printed for the operator, never run here
        out.append("3. In the service's database, in one transaction:\n" + sql)
    else:
        out.append("3. Nothing to empty: this service has no rebuildable projection.")
    out += [
        f"4. Reset the group {group} to the earliest offsets of {', '.join(topics) or '(no topic)'}:\n"
        f"     python -m shared.ops rebuild --service {service} --yes   (this command)",
        f"5. Start the service again: kubectl -n sharaka scale {dep} --replicas=<as before>; it "
        "reads every topic from the start. Watch sharaka_consumer_lag fall to 0.",
    ]
    return out
