-- Delivery history: what the recorder reads from notify.delivery-results (docs/architecture.md), served
-- by GET /v1/apps/{app}/deliveries. One row per attempt, one per delivery (its latest state).
--
-- The recorder is idempotent on the primary keys: an attempt is inserted ON CONFLICT DO NOTHING,
-- and a delivery counts only the attempts that were new; its status is the outcome of its
-- highest attempt number, whatever order the attempts arrive in.

CREATE TABLE deliveries (
    id                text PRIMARY KEY,            -- uuid5(event id, notifier id)
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    app_id            text,                        -- null: an owner-wide event
    owner_id          text,
    notifier_id       text NOT NULL,
    channel           text NOT NULL,
    status            text NOT NULL
                      CHECK (status IN ('delivered', 'retry_scheduled', 'dead_lettered')),
    latest_attempt    integer NOT NULL CHECK (latest_attempt >= 1),
    attempt_count     integer NOT NULL CHECK (attempt_count >= 1),
    status_code       integer,                     -- of the latest attempt
    reason            text,                        -- of the latest attempt
    first_attempt_at  timestamptz NOT NULL,
    last_attempt_at   timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- The history list: newest first per app, then by each filter; (first_attempt_at, id) is the
-- keyset of its cursor.
CREATE INDEX deliveries_app_time ON deliveries (app_id, first_attempt_at DESC, id DESC);
CREATE INDEX deliveries_notifier_time ON deliveries (notifier_id, first_attempt_at DESC, id DESC);
CREATE INDEX deliveries_app_status_time
    ON deliveries (app_id, status, first_attempt_at DESC, id DESC);
CREATE INDEX deliveries_app_type_time
    ON deliveries (app_id, event_type, first_attempt_at DESC, id DESC);

CREATE TABLE delivery_attempts (
    -- Deferred: the recorder writes a batch's attempts and deliveries in one statement.
    delivery_id       text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE
                      DEFERRABLE INITIALLY DEFERRED,
    attempt           integer NOT NULL CHECK (attempt >= 1),
    outcome           text NOT NULL
                      CHECK (outcome IN ('delivered', 'retry_scheduled', 'dead_lettered')),
    reason            text,
    detail            text,
    status_code       integer,
    duration_ms       double precision NOT NULL,
    at                timestamptz NOT NULL,
    response_excerpt  text,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (delivery_id, attempt)
);
