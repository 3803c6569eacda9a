"""Every Postgres advisory-lock key the platform takes, in one place.

Keys are per database, and each service owns its database, so two services may use the same
key without meeting; they are still kept distinct so a log line or ``pg_locks`` row names one
job without ambiguity. Never reuse a retired key for another job.
"""

from __future__ import annotations

#: Migrations, every service: replicas starting together apply each file once.
MIGRATIONS = 0x5A4A_0001
#: The outbox relay, every service: one publisher keeps each key's events in order.
OUTBOX_RELAY = 0x5A4A_0002

#: plans: the OGP commitments import (one at a time: it numbers plans and commitments).
PLANS_IMPORT = 0x5A4A_0101
#: plans: the timers (overdue milestones, next plan, stale repositories).
PLANS_TIMERS = 0x5A4A_0103

#: consultation: rounds that open and close on time, the forum check.
CONSULTATION_TIMERS = 0x5A4A_0203

#: notifications: one SMS gateway message at a time, taken per message id (the key's second half is
#: the id's hash): its delivery report and the record that it was sent meet in one order, so a
#: report held "for later" is always taken when the send is recorded.
NOTIFICATIONS_GATEWAY_MESSAGE = 0x5A4A_0401

#: irm: the review clocks (dated steps, reminders, overdue reviews).
IRM_TIMERS = 0x5A4A_0303
