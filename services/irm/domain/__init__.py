"""The IRM's rules, free of I/O: reviews and their life cycle (:mod:`.reviews`), assessments on
versioned scales (:mod:`.scales`, :mod:`.assessments`), process findings and procedural reviews
(:mod:`.findings`)."""
