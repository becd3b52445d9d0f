-- Convox: the OAuth 2 states of organisation integrations, and the audit log.
--
-- oauth_states: one row per `GET /v1/owners/{owner}/integrations/{provider}/authorize`. The
-- state sent to the provider is random; only its SHA-256 is stored. The callback claims it once
-- (used_at), before its expiry, for the owner and provider it was made for, and exchanges the
-- code with the redirect_uri stored here (the one the provider saw).
CREATE TABLE oauth_states (
    state_hash    text PRIMARY KEY,
    owner_id      text NOT NULL,
    provider      text NOT NULL CHECK (provider IN ('slack', 'discord')),
    redirect_uri  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

-- audit_log: the audit-only events of notify.events (Convox's budget-configuration and
-- override events: recorded, never forwarded), written by the recorder's audit consumer
-- (herald_recorder.audit), idempotently by event id, and listed by
-- GET /v1/owners/{owner}/audit-log (newest first, keyset pages on (created_at, event_id)).
CREATE TABLE audit_log (
    event_id     text PRIMARY KEY,
    owner_id     text,
    app_id       text,
    app_name     text,
    rack         text,
    event_type   text NOT NULL,
    actor        text,
    created_at   timestamptz NOT NULL,
    event        jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_owner_time ON audit_log (owner_id, created_at DESC, event_id DESC);
