"""Event contracts (pydantic models, one per type and version) and their CloudEvents envelope."""
