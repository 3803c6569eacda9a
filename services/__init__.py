"""Sharaka's services. Each is its own process and owns its own database; they meet only through
the event contracts in :mod:`shared.events` (and documented HTTP calls)."""
