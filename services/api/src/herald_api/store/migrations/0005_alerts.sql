-- Metric alert rules (docs/alerts.md). A rule is stored as the herald_core AlertRule
-- document (durations in seconds); the columns beside it index it. Every change republishes
-- all the rules of the app to notify.config.alerts (key = app id) through the outbox, in the
-- change's transaction, under the app row's lock (so two changes to one app publish in order).

CREATE TABLE alerts (
    id          text PRIMARY KEY,
    app_id      text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    document    jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_app ON alerts (app_id, created_at, id);
-- Which alerts list a notifier (deleting the notifier removes it from them).
CREATE INDEX alerts_notifiers ON alerts USING gin ((document -> 'notifier_ids'));
