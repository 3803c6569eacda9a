"""Sharaka's shared kit: event contracts and the platform plumbing every service stands on.

Nothing here imports a service; services import from here.
"""
