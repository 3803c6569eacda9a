"""The consultation service: co-creation spaces, consultation rounds, comments and responses."""
