"""The catalog against the seed documents: every event type, spelled and described as they say.

The seeds live beside the checkout (`<repo>/../shared/seeds/`). Without them the test skips,
except in CI (`CI=true`), where their absence is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from pathlib import Path

import pytest
from herald_core.catalog import CATALOG, Family
from herald_core.intake import parse_event

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SCALINGO, CONVOX, CLOUD66, LEGACY = "000_", "003_", "004_", "002_"

# Seed slips the catalog corrects: id → the description the catalog gives instead.
CORRECTIONS = {
    "addon_resumed": "An addon was resumed",  # seed: "An addon was provisioned"
    "app_deleted": "An app was deleted",  # seed: "A command was ran in an app"
    "app_command_ran": "A command was run in an app",  # seed: "was ran"
    "github_unlink": "A GitHub repo was unlinked from an app",  # seed: "unlinked to"
    "variable_bulk_edited": "Some variables were bulk edited",  # seed: "variables was"
    "account.provision.ok": "Account provisioned successfully",  # seed: "succesfully"
    "account.redeploy.ok": "Account redeployed successfully",  # seed: "succesfully"
    "server.backon": "Server heartbeat restored",  # seed: "Sever"
}

CRITICAL = {
    "app_crashed",
    "app_alert_triggered",
    "database_backup_failed",
    "database_maintenance_planned",
    "addon_suspended",
    "alert:firing",
    "app:budget:cap",
    "app:budget:auto-shutdown:fired",
    "app:budget:auto-shutdown:failed",
    "server.stopped",
    "process.down",
    "job.fail",
    "account.provision.fail",
    "account.redeploy.fail",
    "account.redeploy.hook.fail",
    "payment_failed",
}


def seed_text(prefix: str) -> str:
    found = sorted(SEEDS.glob(f"{prefix}*.txt")) if SEEDS.is_dir() else []
    if not found:
        message = f"seed {prefix}*.txt not found under {SEEDS}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found[0].read_text(encoding="utf-8")


def scalingo_rows() -> list[tuple[str, str, str]]:
    """`id |` on one line, `display name | description |` on the next."""
    lines = seed_text(SCALINGO).splitlines()
    start = lines.index("| Event Type | Display Name | Description |") + 2
    rows = []
    for first, second in zip(lines[start::2], lines[start + 1 :: 2], strict=False):
        type_id = re.fullmatch(r"([a-z_]+) \|", first)
        rest = re.fullmatch(r"(.+?) \| (.+?) \|", second)
        assert type_id, first
        assert rest, second
        rows.append((type_id.group(1), rest.group(1), rest.group(2)))
    return rows


def convox_rows() -> list[tuple[str, str]]:
    """`event |` on one line, `description |` on the next, under each category heading."""
    lines = seed_text(CONVOX).splitlines()
    rows = []
    for first, second in itertools.pairwise(lines):
        type_id = re.fullmatch(r"([a-z][a-z0-9:-]*:[a-z0-9:-]+) \|", first)
        if type_id:
            rows.append((type_id.group(1), second.removesuffix(" |")))
    return rows


def convox_audit_only() -> set[str]:
    """The ids in parentheses of the paragraphs saying what is audit-only."""
    text = seed_text(CONVOX)
    paragraph = next(line for line in text.splitlines() if "audit" in line)
    groups = re.findall(r"\(([^)]*)\)", paragraph)
    return {name.strip() for group in groups for name in group.split(",")}


def cloud66_rows() -> list[tuple[str, str]]:
    """`id | description |` rows after the event-type table header; a trailing `.` is not the id."""
    lines = seed_text(CLOUD66).splitlines()
    start = lines.index("Event Type | Description |") + 2
    rows = []
    for line in lines[start:]:
        match = re.fullmatch(r"(\S+) \| (.+?) \|", line.strip())
        assert match, line
        rows.append((match.group(1).rstrip("."), match.group(2)))
    return rows


def legacy_example() -> dict[str, object]:
    blocks = re.findall(r"```json\n(.*?)```", seed_text(LEGACY), flags=re.DOTALL)
    documents = [json.loads(block) for block in blocks]
    return next(d for d in documents if d.get("type") == "deployment")


def test_scalingo_types_are_in_the_catalog_as_listed():
    rows = scalingo_rows()
    assert len(rows) == 47
    for type_id, display_name, description in rows:
        event_type = CATALOG.get(type_id)
        assert event_type is not None, type_id
        assert event_type.family is Family.SCALINGO
        assert event_type.display_name == display_name
        assert event_type.description == CORRECTIONS.get(type_id, description)


def test_convox_types_are_in_the_catalog_as_listed():
    rows = convox_rows()
    assert len(rows) == 26
    for type_id, description in rows:
        event_type = CATALOG.get(type_id)
        assert event_type is not None, type_id
        assert event_type.family is Family.CONVOX
        assert event_type.description == CORRECTIONS.get(type_id, description)
        assert not event_type.audit_only, f"{type_id} is forwarded by Convox"


def test_cloud66_types_are_in_the_catalog_as_listed():
    rows = cloud66_rows()
    assert len(rows) == 13
    assert ("account.provision.ok", "Account provisioned succesfully") in rows
    for type_id, description in rows:
        event_type = CATALOG.get(type_id)
        assert event_type is not None, type_id
        assert event_type.family is Family.CLOUD66
        assert event_type.description == CORRECTIONS.get(type_id, description)


def test_corrections_only_touch_seed_types():
    seed_ids = {r[0] for r in scalingo_rows()} | {r[0] for r in cloud66_rows()}
    assert set(CORRECTIONS) <= seed_ids


def test_audit_only_is_exactly_what_convox_lists():
    listed = convox_audit_only()
    assert listed == {
        "app:budget:set",
        "app:budget:clear",
        "app:budget:reset",
        "app:triggers-override:toggled",
        "app:triggers-override:threshold-set",
        "app:scale-override:toggled",
        "app:scale-override:honored",
    }
    assert CATALOG.audit_only_ids() == listed
    assert all(CATALOG.get(i).family is Family.CONVOX for i in listed)


def test_critical_alerts_are_exactly_the_agreed_set():
    assert CATALOG.critical_ids() == CRITICAL
    assert CATALOG.expand("critical_alerts") == CRITICAL
    assert all(CATALOG.get(i).severity == "critical" for i in CRITICAL)


def test_account_suspended_is_not_emailed_by_default():
    seed_text(CLOUD66)  # "with the exception of account suspended notifications"
    assert CATALOG.get("account_suspended").default_email is False
    assert CATALOG.get("payment_failed").default_email is True


def test_the_legacy_deployment_example_parses_as_app_deployed():
    document = legacy_example()
    event = parse_event(json.dumps(document).encode())
    assert event.type == "app_deployed"
    assert CATALOG.canonical("deployment") == "app_deployed"
    assert event.app_id == "5343eccd646173000a140000"
    assert event.owner_id is None
    assert event.type_data == document["type_data"]
    assert event.user is not None
    assert event.user.username == "johndoe"


def test_clever_cloud_deployment_results_hook_exists():
    text = seed_text("001_")
    assert "Result of deployments (success/fail)" in text
    group = CATALOG.group("META_DEPLOYMENT_RESULT")
    assert group is not None
    assert group.name == "Result of deployments (success/fail)"


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_seeds_fail_in_ci_and_skip_elsewhere(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(sys.modules[__name__], "SEEDS", tmp_path / "absent")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        seed_text(SCALINGO)
