"""The consultation rules, free of I/O: aggregates whose methods check the rules, change state and
return the events they cause.

* :mod:`.common`: who acts, text comparison and masking, dates recorded after the fact.
* :mod:`.forum`: the multi-stakeholder forum (standards 1 and 5): seats, meetings, the gap rule.
* :mod:`.rounds`: co-creation spaces and consultation rounds (standard 3).
* :mod:`.inputs`: submissions and comments, abuse control and moderation.
* :mod:`.responses`: reasoned responses and the "comments and responses" table (standard 4).
* :mod:`.reports`: response coverage and the participation breakdown.
"""
