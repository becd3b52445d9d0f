"""Every record Herald writes against its generated JSON Schema (issue 17, "Contracts"), and the
drift check of the record schemas and of schemas/asyncapi.yaml.

The records are built by Herald's own code (the router's, the sender's, ingest's, the api's
record builders), then their value and decoded headers are validated against the committed
files in schemas/ with jsonschema_rs. The drift tests change a model without regenerating and
expect `check` to fail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
import yaml
from herald_api.pipes.delivery_queue import delivery_record as api_delivery_record
from herald_core import schemas as s
from herald_core.alerts import AppAlerts
from herald_core.asyncapi import TopicContract, asyncapi_document, channel_id
from herald_core.deliveries import AttemptOutcome, Delivery, Recipient
from herald_core.directory import AppEntry, CollaboratorEntry, MemberEntry, OwnerEntry
from herald_core.errors import FailureReason, InvalidEvent, RetryableDeliveryError
from herald_core.intake import parse_event
from herald_core.notifier_commands import DisableNotifier
from herald_core.notifiers import Notifier, Selection
from herald_core.record_headers import decoded
from herald_core.retry import RetryState
from herald_core.topics import Channel, retry_topic
from herald_ingest.records import dead_letter as ingest_dead_letter
from herald_kafka.producer import OutgoingRecord, event_record, fitted
from herald_router.records import delivery_record as router_delivery_record
from herald_sender.outcomes import dead_letter_record, result_record, retry_record
from herald_sender.threads import after_send, deploy_thread
from pydantic import AwareDatetime, BaseModel, ConfigDict

SCHEMAS = s.default_schema_dir()
NOW = datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def validator(name: str) -> jsonschema_rs.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema_rs.meta.validate(schema)
    return jsonschema_rs.Draft202012Validator(schema)


def assert_valid(name: str, instance: Any) -> None:
    errors = [e.message for e in validator(name).iter_errors(instance)]
    assert errors == [], f"{name}: {errors}"


def value(record: OutgoingRecord) -> Any:
    assert record.value is not None
    return json.loads(record.value)


def event() -> Any:
    return parse_event(
        {
            "id": "evt-1",
            "type": "app_deployed",
            "created_at": "2026-03-12T17:05:14+01:00",
            "source": "deployer",
            "app_id": "app-1",
            "owner_id": "org-1",
            "user": {"id": "u-1", "username": "alice", "email": "alice@example.com"},
            "type_data": {"status": "success", "git_ref": "0a1b2c", "duration": 40},
        }
    )


def notifier(channel: Channel = Channel.WEBHOOK) -> Notifier:
    return Notifier(
        id="n-1",
        name="ops",
        app_id="app-1",
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": "https://hooks.example.com/h"},
    )


def delivery(channel: Channel = Channel.EMAIL) -> Delivery:
    recipients = (Recipient(address="alice@example.com", name="Alice", user_id="u-1"),)
    return Delivery.for_(
        event(), notifier(channel), NOW, recipients=recipients, traceparent=TRACEPARENT
    )


def routed() -> OutgoingRecord:
    """What the router writes for one event record, headers passed on."""
    incoming = event_record(event(), TRACEPARENT)
    return router_delivery_record(delivery(), list(incoming.headers))


# --- values ---------------------------------------------------------------------------------


def test_the_router_delivery_record_matches_its_schemas() -> None:
    record = routed()
    assert record.topic == "notify.deliveries.email"
    assert_valid(s.DELIVERY_FILE, value(record))
    assert_valid(s.DELIVERY_HEADERS_FILE, decoded(record.headers))
    assert decoded(record.headers)["x-delivery-id"] == delivery().id


def test_the_api_redelivery_and_test_records_match_their_schemas() -> None:
    record = api_delivery_record(delivery(Channel.SLACK), attempts_so_far=2, test=True)
    assert_valid(s.DELIVERY_FILE, value(record))
    assert_valid(s.DELIVERY_HEADERS_FILE, decoded(record.headers))


def test_an_event_record_matches_its_header_schema() -> None:
    record = event_record(event(), TRACEPARENT)
    assert_valid(s.EVENT_HEADERS_FILE, decoded(record.headers))


@pytest.mark.parametrize("outcome", list(AttemptOutcome))
def test_the_sender_result_record_matches_its_schema(outcome: AttemptOutcome) -> None:
    error = (
        None
        if outcome is AttemptOutcome.DELIVERED
        else RetryableDeliveryError(FailureReason.SERVER_ERROR, "503", status_code=503)
    )
    record = result_record(
        delivery(), outcome=outcome, at=NOW, duration_ms=12.5, attempt=2, error=error
    )
    assert_valid(s.DELIVERY_RESULT_FILE, value(record))


def test_the_sender_retry_and_dead_letter_records_match_their_schemas() -> None:
    incoming = routed()
    headers = list(incoming.headers)
    state = RetryState.of(headers, ("notify.deliveries.email", 2, 41))
    retry = retry_record(
        incoming.value,
        incoming.key,
        headers,
        topic=retry_topic("email", "1m"),
        attempt=1,
        due_at=NOW + timedelta(minutes=1),
        state=state,
        failed_at=NOW,
        last_error="server_error: 503",
        recipients_done=frozenset({0}),
    )
    assert_valid(s.DELIVERY_FILE, value(retry))
    assert_valid(s.RETRY_HEADERS_FILE, decoded(retry.headers))
    dead = dead_letter_record(
        retry.value,
        retry.key,
        list(retry.headers),
        channel="email",
        reason="exhausted",
        detail="5 attempts",
        attempt=6,
        source=state.source,
        retries_from=3,
        first_failed_at=NOW.isoformat(),
        recipients_done=frozenset({0}),
    )
    assert_valid(s.DELIVERY_FILE, value(dead))
    assert_valid(s.DELIVERY_DLQ_HEADERS_FILE, decoded(dead.headers))


def test_the_delivery_dead_letter_schema_refuses_a_reason_herald_does_not_have() -> None:
    incoming = routed()
    dead = dead_letter_record(
        incoming.value,
        incoming.key,
        list(incoming.headers),
        channel="email",
        reason="bored",
        detail="-",
        attempt=1,
        source=("notify.deliveries.email", 0, 0),
    )
    assert not validator(s.DELIVERY_DLQ_HEADERS_FILE).is_valid(decoded(dead.headers))


def test_the_event_dead_letters_match_their_header_schema() -> None:
    error = InvalidEvent(FailureReason.INVALID_JSON, "Expecting value: line 1 column 1")
    record = ingest_dead_letter(b"{nope", error, source="platform.events", key=b"app-1")
    assert_valid(s.EVENT_DLQ_HEADERS_FILE, decoded(record.headers))
    cut = fitted(
        ingest_dead_letter(b"x" * 5000, error, source="http", original=[("ce_id", b"e")]), 2000
    )
    assert "x-dlq-truncated" in decoded(cut.headers)
    assert_valid(s.EVENT_DLQ_HEADERS_FILE, decoded(cut.headers))


def test_the_config_records_match_their_schemas() -> None:
    assert_valid(s.NOTIFIER_FILE, json.loads(notifier().model_dump_json()))
    app = AppEntry(
        id="app-1",
        name="shop",
        owner_id="org-1",
        region="osc-fr1",
        collaborators=(CollaboratorEntry(id="c-1", user_id="u-1", email="a@example.com"),),
        updated_at=NOW,
    )
    assert_valid(s.APP_ENTRY_FILE, json.loads(app.model_dump_json()))
    owner = OwnerEntry(id="org-1", name="Org", members=(MemberEntry(user_id="u-1"),))
    assert_valid(s.OWNER_ENTRY_FILE, json.loads(owner.model_dump_json()))


def test_the_notifier_command_matches_its_schema() -> None:
    command = DisableNotifier(
        notifier_id="n-1",
        reason="gone",
        failing_since=NOW,
        consecutive_failures=12,
        decided_at=NOW,
    )
    assert_valid(s.NOTIFIER_COMMAND_FILE, json.loads(command.to_json()))
    assert not validator(s.NOTIFIER_COMMAND_FILE).is_valid({"kind": "disable_notifier"})


def test_the_slack_thread_state_matches_its_schema() -> None:
    deploy = event().model_copy(update={"type_data": {"status": "success", "deployment_id": "d-1"}})
    step = deploy_thread(deploy)
    assert step is not None
    ref = after_send(step, "C0123", "1710259521.000200", NOW)
    assert_valid(s.SLACK_THREAD_FILE, json.loads(ref.model_dump_json()))
    assert not validator(s.SLACK_THREAD_FILE).is_valid({"channel": "C0123"})


# --- the AsyncAPI document ------------------------------------------------------------------


def asyncapi() -> Any:
    return yaml.safe_load((SCHEMAS / s.ASYNCAPI_FILE).read_text(encoding="utf-8"))


def test_every_topic_of_the_topic_file_has_a_channel() -> None:
    topic_file = s._topic_file()
    expected = {*topic_file["topics"], *topic_file["per_channel"]}
    addresses = {c["address"] for c in asyncapi()["channels"].values()}
    assert addresses == expected
    deliveries = asyncapi()["channels"]["notify_deliveries_channel"]
    assert deliveries["parameters"]["channel"]["enum"] == [str(c) for c in Channel]


def test_every_referenced_schema_exists() -> None:
    text = (SCHEMAS / s.ASYNCAPI_FILE).read_text(encoding="utf-8")
    refs = {line.split("$ref:")[1].strip() for line in text.splitlines() if "$ref:" in line}
    files = {r for r in refs if not r.startswith("'#") and not r.startswith("#")}
    assert files, "no schema referenced"
    for name in files:
        assert (SCHEMAS / name).is_file(), name


def test_a_topic_without_a_contract_is_refused() -> None:
    topic_file = {"topics": {"notify.new": {"partitions": 1}}}
    with pytest.raises(ValueError, match=r"notify\.new"):
        asyncapi_document(topic_file, {})
    contract = TopicContract("New", "new", "k", None)
    assert (
        channel_id("notify.new")
        in asyncapi_document(topic_file, {"notify.new": contract})["channels"]
    )


# --- drift ----------------------------------------------------------------------------------


def test_the_committed_files_match_the_models() -> None:
    assert s.drift(SCHEMAS) == []


class ChangedThreadRef(BaseModel):
    """ThreadRef with one more field, as if someone had changed the model."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str
    open: bool = True
    updated_at: AwareDatetime
    permalink: str | None = None


def test_a_changed_record_model_without_regeneration_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, topic, what = s.RECORDS[s.SLACK_THREAD_FILE]
    monkeypatch.setitem(s.RECORDS, s.SLACK_THREAD_FILE, (ChangedThreadRef, topic, what))

    assert s.drift(SCHEMAS) == [s.SLACK_THREAD_FILE]
    assert s.main(["check"]) == 1
    assert s.SLACK_THREAD_FILE in capsys.readouterr().err


def test_a_new_topic_without_regeneration_fails_the_asyncapi_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic_file = s._topic_file()
    topic_file["topics"]["notify.new"] = {"partitions": 1, "cleanup": "delete"}
    contracts = {**s.topic_contracts(), "notify.new": TopicContract("New", "new", "k", None)}
    monkeypatch.setattr(s, "_topic_file", lambda: topic_file)
    monkeypatch.setattr(s, "topic_contracts", lambda: contracts)

    assert s.drift(SCHEMAS) == [s.ASYNCAPI_FILE]


def test_a_changed_header_model_without_regeneration_fails_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Changed(BaseModel):
        ce_id: str

    _, topic = s.HEADERS[s.EVENT_HEADERS_FILE]
    monkeypatch.setitem(s.HEADERS, s.EVENT_HEADERS_FILE, (Changed, topic))
    assert s.drift(SCHEMAS) == [s.EVENT_HEADERS_FILE]


def test_generate_into_a_fresh_folder_then_check_passes(tmp_path: Any) -> None:
    changed = s.generate(tmp_path)
    assert s.ASYNCAPI_FILE in changed
    assert s.DELIVERY_FILE in changed
    assert s.drift(tmp_path) == []
    assert s.main(["check", "--out", str(tmp_path)]) == 0
    (tmp_path / s.DELIVERY_RESULT_FILE).write_text("{}\n", encoding="utf-8")
    assert s.main(["check", "--out", str(tmp_path)]) == 1


def test_alert_rules_stay_the_config_alerts_payload() -> None:
    """notify.config.alerts in the document points at the AppAlerts schema (tombstone or not)."""
    channel = asyncapi()["channels"][channel_id("notify.config.alerts")]
    payload = channel["messages"][channel_id("notify.config.alerts")]["payload"]
    assert {"$ref": s.APP_ALERTS_FILE} in payload["oneOf"]
    assert AppAlerts.__name__ in json.loads((SCHEMAS / s.APP_ALERTS_FILE).read_text())["title"]


def test_a_header_schema_no_model_makes_is_stale(tmp_path: Any) -> None:
    s.generate(tmp_path)
    (tmp_path / s.HEADERS_DIR / "gone.v1.schema.json").write_text("{}\n", encoding="utf-8")
    assert s.drift(tmp_path) == [f"{s.HEADERS_DIR}/gone.v1.schema.json"]
    s.generate(tmp_path)
    assert s.drift(tmp_path) == []
