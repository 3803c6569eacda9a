"""What the consultation service does, one function per use case, grouped by part: routes,
reactions and timers call these. Each takes the unit of work and a command, loads through the
repositories, lets the aggregate decide, saves and hands the events to ``uow.publish``; refusals
are :mod:`shared.errors`, whoever the caller is."""
