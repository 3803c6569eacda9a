"""The notifications service's rules, free of I/O: recipients and their choices
(:mod:`.recipients`), what they follow (:mod:`.subscriptions`), who is told what
(:mod:`.triggers`) and the life of one delivery (:mod:`.deliveries`)."""
