"""Teams payloads validate against the official Adaptive Card JSON schema (1.5), committed in
`tests/golden/chat/schemas/adaptive-card.json` (its README says where it comes from)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from herald_core.catalog import CATALOG
from herald_core.deliveries import Delivery
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_sender.chat import ChatOptions, render_msteams
from herald_sender.chat.samples import ROUTED_AT, SAMPLES, sample_delivery
from jsonschema_rs import Draft6Validator, meta

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "golden/chat/schemas/adaptive-card.json"
SCHEMA_SHA256 = "6f4f958f6c0937c04926e4c4928fdeee4a9955a879e3ed248ae4df7bea9abc35"
OPTIONS = ChatOptions(event_url_template="https://herald.example.com/events/{event_id}")


@pytest.fixture(scope="module")
def validator():
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256  # the file as fetched, unmodified
    schema = json.loads(raw)
    meta.validate(schema)
    return Draft6Validator(schema)


def errors(validator, card):
    return [f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(card)]


@pytest.mark.parametrize("case", list(SAMPLES))
def test_golden_cards_are_valid_adaptive_cards(validator, case):
    payload = render_msteams(sample_delivery(case, Channel.MSTEAMS), OPTIONS)
    card = payload["attachments"][0]["content"]
    assert errors(validator, card) == []


def test_the_schema_catches_a_broken_card(validator):
    payload = render_msteams(sample_delivery("crash", Channel.MSTEAMS), OPTIONS)
    card = payload["attachments"][0]["content"]
    broken = {**card, "body": [*card["body"], {"type": "TextBlock"}], "colour": "red"}
    assert len(errors(validator, broken)) >= 1
    assert errors(validator, {**card, "msteams": {"width": "Full"}})  # not in the schema


def test_one_type_of_every_category_and_kind_gives_a_valid_card(validator):
    # Validation is slow (the schema is one large anyOf): the cards of one category differ only
    # in their text, so one type per category, plus the alert kinds, covers every shape.
    first = {t.category: t for t in reversed(CATALOG.types())}
    chosen = [*first.values(), *(t for t in CATALOG.types() if t.category == "alerts")]
    for event_type in chosen:
        raw = {
            "id": f"ev-{event_type.id}",
            "type": event_type.id,
            "created_at": "2026-03-01T11:59:30Z",
            "app_id": "app-1",
            "app_name": "shop",
            "owner_id": "owner-1",
            "type_data": {"status": "success"},
        }
        event = parse_event(raw)
        notifier = Notifier(
            id="no-1",
            owner_id="owner-1",
            scope=Scope.OWNER,
            platform=Channel.MSTEAMS,
            selection=Selection(send_all_events=True),
        )
        card = render_msteams(Delivery.for_(event, notifier, ROUTED_AT), OPTIONS)
        assert errors(validator, card["attachments"][0]["content"]) == [], event_type.id
