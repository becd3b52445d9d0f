"""herald_kafka: the only package that imports aiokafka (tests/unit/test_import_boundary.py).

The names other packages need in their signatures are re-exported here, so that they never
import aiokafka themselves: `AIOKafkaProducer` (type hints; build one with
`herald_kafka.producer.idempotent_producer`), `TopicPartition`, `KafkaError`, and `Record`
(the fields of a consumed record Herald reads).
"""

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from herald_kafka.records import Record

__all__ = ["AIOKafkaProducer", "KafkaError", "Record", "TopicPartition"]
