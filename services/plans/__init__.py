"""The plans service: members, action plans, commitments and milestones; the source of truth."""
