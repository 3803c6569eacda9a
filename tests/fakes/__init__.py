"""In-memory stand-ins for each service's unit of work, so every use case is tested without
Kafka or Postgres. They keep the same promises as the real repositories (ids, ordering, locks do
nothing because one test is one task)."""
