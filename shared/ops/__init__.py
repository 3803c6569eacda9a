"""Operator commands: ``python -m shared.ops <command> --service plans|consultation|irm|notifications``.

Every command connects the way the service's own pods do: it reads the service's settings from
the same environment variables (``IRM_KAFKA_BOOTSTRAP``, ``IRM_KAFKA_SECURITY_PROTOCOL``,
``IRM_KAFKA_SASL_*``, ``IRM_KAFKA_SSL_CAFILE``, ``IRM_DATABASE_URL``...), so it works from
``kubectl exec`` into a pod of the service. Commands that need more than the service's own
Kafka rights (reading its dead letters, writing back to the topics it consumes, moving its
consumer group) run as the ``sharaka-ops`` KafkaUser: ``--kafka-user sharaka-ops
--kafka-password-file -`` reads that user's password from standard input (never from the
command line).

- ``dlq list | inspect | replay``: :mod:`shared.ops.dlq`
- ``group reset``: :mod:`shared.ops.groups`
- ``rebuild``: :mod:`shared.ops.rebuild`
- ``migrate [--check]``: :mod:`shared.ops.migrate`
"""
