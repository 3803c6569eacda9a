"""Topic names. One public topic per bounded context, keyed by plan or member id so that all
events of one plan stay in one partition and in order."""

PLANS = "ogp.plans.v1"
CONSULTATION = "ogp.consultation.v1"
IRM = "ogp.irm.v1"
NOTIFICATIONS = "ogp.notifications.v1"

#: Private, compacted, access-controlled: contact details of points of contact, read only by the
#: notifications service. Erasure is a tombstone on the contact's key.
PLANS_CONTACTS = "sharaka.plans.contacts.v1"

#: Private, compacted: the contact an input's author left to hear of the government's answer,
#: keyed by input id, read only by the notifications service. Erasure is a tombstone per input.
CONSULTATION_CONTACTS = "sharaka.consultation.contacts.v1"

#: Private: requests to erase a person's contact data everywhere it is held. They name the person
#: by SHA-256 digests of the normalised e-mail and phone, never the values themselves.
ERASURES = "sharaka.privacy.erasures.v1"

PUBLIC = (PLANS, CONSULTATION, IRM, NOTIFICATIONS)


def dead_letter_topic(service: str) -> str:
    """One dead-letter topic per consuming service, so each team replays only its own."""
    return f"sharaka.{service}.dlq"
