"""Runnable examples for systems that use Sharaka (not part of the services)."""
