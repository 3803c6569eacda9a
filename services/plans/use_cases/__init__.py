"""What the plans service does, one function per use case, grouped by aggregate. Routes,
reactions, timers and the importer call these; each takes the unit of work and a command and
returns what it made, raising only :mod:`shared.errors`."""
