"""What the IRM service does, one module per part; reactions, routes and timers call these."""
