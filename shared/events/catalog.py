"""Imports every contract module so that the registry in :mod:`shared.events.base` is complete."""

from shared.events import consultation, irm, notifications, plans, privacy

__all__ = ["consultation", "irm", "notifications", "plans", "privacy"]
