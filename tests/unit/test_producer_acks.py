"""Every Kafka producer in the repository waits for every in-sync replica (acks=all): with
the prod topic profile (min.insync.replicas=2) an acknowledged record is on two brokers, so a
broker lost just after the ack loses nothing. A producer built with fewer acks anywhere
(services, libraries, tools, benchmarks, tests) fails this test."""

from __future__ import annotations

import ast
from pathlib import Path

from herald_derive.app import faust_app as derive_app
from herald_derive.settings import DeriveSettings

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("libs", "services", "bench", "tests")
ALL = ("all", -1, "-1")


def python_files() -> list[Path]:
    return [
        path
        for folder in SCANNED
        for path in (ROOT / folder).rglob("*.py")
        if "node_modules" not in path.parts and ".venv" not in path.parts
    ]


def _named(call: ast.Call, name: str) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name
    )


def acks_of(call: ast.Call) -> object:
    """The `acks` a producer construction passes, directly or in a `**client_options(...)`
    spread; `None` when it passes none (aiokafka's default is 1, or all with idempotence: an
    explicit one is asked for)."""
    for keyword in call.keywords:
        if keyword.arg == "acks" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
        if keyword.arg is None and isinstance(keyword.value, ast.Call):
            spread = acks_of(keyword.value)
            if spread is not None:
                return spread
    return None


def producer_calls() -> list[tuple[str, object]]:
    found = []
    for path in python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _named(node, "AIOKafkaProducer"):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", acks_of(node)))
    return found


def test_the_scan_finds_the_producers_it_guards() -> None:
    where = [place for place, _ in producer_calls()]
    assert any(
        place.startswith("libs/herald-kafka/src/herald_kafka/producer.py") for place in where
    )
    assert len(where) >= 5


def test_every_aiokafka_producer_is_built_with_acks_all() -> None:
    weaker = [(place, acks) for place, acks in producer_calls() if acks not in ALL]
    assert weaker == [], "producers without acks='all'"


def test_the_scan_sees_a_weaker_producer() -> None:
    code = "p = AIOKafkaProducer(**client_options(k, acks=1))\nq = aiokafka.AIOKafkaProducer()"
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]
    producers = [c for c in calls if _named(c, "AIOKafkaProducer")]
    assert [acks_of(c) for c in producers] == [1, None]


def test_the_faust_service_produces_with_acks_all() -> None:
    """derive's faust producer (its changelog, its events); the alerter's producer is
    herald_kafka's `idempotent_producer`, scanned above."""
    assert derive_app(DeriveSettings()).conf.producer_acks == -1
