"""The IRM service: reviews of action plans on OGP's fixed deadlines, and their assessments."""
