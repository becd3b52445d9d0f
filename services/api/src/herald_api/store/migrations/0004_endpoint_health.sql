-- Endpoint health: each notifier's streak of failed deliveries, kept by the recorder's health
-- tracker (herald_recorder.health) from notify.delivery-results. A notifier whose failures in a
-- row span the configured window is disabled through the API (POST /v1/notifiers/{id}/disable).
--
-- Results arrive at least once and out of order: `reset_at` (the latest success, or the disable)
-- makes older results stale, and `recent` (the latest failures' keys and times) makes a repeated
-- failure count once. No foreign key: results may name notifiers the API has deleted since.

CREATE TABLE endpoint_health (
    notifier_id           text PRIMARY KEY,
    consecutive_failures  integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    first_failure_at      timestamptz,
    last_failure_at       timestamptz,
    reset_at              timestamptz,
    recent                jsonb NOT NULL DEFAULT '[]',   -- [[delivery_id:attempt, time], ...]
    disabled_at           timestamptz,                   -- the latest disable by the tracker
    updated_at            timestamptz NOT NULL DEFAULT now()
);
