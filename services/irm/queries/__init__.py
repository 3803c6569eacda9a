"""The IRM's read side: SQL that answers the public API, no domain objects."""
