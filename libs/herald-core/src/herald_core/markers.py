"""Marker strings that more than one service writes or recognises. Pure constants.

Header keys are in `herald_core.headers` (`TEST`, the notifier-test header, among them).
"""

from __future__ import annotations

TEST_EVENT_SOURCE = "herald-test"
"""The `source` of a notifier test's sample event (the api's `sample_events`). The recorder's
endpoint health recognises results written before `DeliveryResult.test` existed by it."""

TEST_DETAIL_PREFIX = "test delivery, not retried: "
"""How the sender's result of a failed notifier test begins its detail; endpoint health
recognises older test results by it too."""
