"""What the notifications service does, one function per use case (``async def x(uow, cmd)``).
Reactions, routes, the delivery worker and the digest timer call these.

* :mod:`.learning`: what the service learns from other services (recipients, plans, names);
* :mod:`.fan_out`: one event to everyone who should hear of it;
* :mod:`.sending`: the delivery worker's claim → send → record;
* :mod:`.digests`: one digest per person and period;
* :mod:`.people`: profiles, following, consent, unsubscribe, STOP and erasure.
"""
