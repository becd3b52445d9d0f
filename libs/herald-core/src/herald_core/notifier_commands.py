"""Commands about notifiers, on `notify.commands.notifiers` (keyed by notifier id). Pure.

Today there is one: `DisableNotifier`, the recorder's endpoint health deciding that a notifier
whose endpoint keeps failing is to be disabled. The api's command consumer applies it through
the same store and outbox as `POST /v1/notifiers/{id}/disable`: the notifier becomes inactive
(a new version on `notify.config.notifiers`) and `notifier_disabled` goes to its owner.

Applying a command is idempotent, decided by `disable_skip`: an unknown notifier, one already
inactive, or one changed after the decision (re-enabled by hand, its URL edited) is left alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from herald_core.notifiers import Notifier

INT4_MAX = 2**31 - 1


class DisableNotifier(BaseModel):
    """Disable `notifier_id`: why, and since when its endpoint fails."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["disable_notifier"] = "disable_notifier"
    notifier_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=200, examples=["server_error", "gone"])
    failing_since: AwareDatetime | None = Field(
        default=None, description="The first failure of the streak"
    )
    consecutive_failures: int | None = Field(default=None, ge=0, le=INT4_MAX)
    decided_at: AwareDatetime = Field(description="When the decision was taken")
    decided_by: str = Field(default="recorder", min_length=1, max_length=100)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def key(self) -> bytes:
        """The record key: the notifier id, so one notifier's commands keep their order."""
        return self.notifier_id.encode()


class DisableSkip(StrEnum):
    """Why a `DisableNotifier` changes nothing (a log field and a metric label)."""

    UNKNOWN = "unknown"  # no such notifier (deleted since, or never ours)
    ALREADY_INACTIVE = "already_inactive"  # a duplicate record, or disabled by other means
    CHANGED_SINCE = "changed_since"  # re-enabled or edited after the decision


def disable_skip(command: DisableNotifier, current: Notifier | None) -> DisableSkip | None:
    """Why `command` is not to be applied to `current` (its notifier now), or None. Pure."""
    if current is None:
        return DisableSkip.UNKNOWN
    if not current.active:
        return DisableSkip.ALREADY_INACTIVE
    if current.updated_at is not None and current.updated_at > command.decided_at:
        return DisableSkip.CHANGED_SINCE
    return None
