"""Benchmarks of Sharaka against real local Kafka and Postgres (see ``bench/README.md``)."""
