-- Herald's config store. Postgres is the source of truth; every change also writes an outbox
-- row in the same transaction, which the relay publishes to Kafka (docs/architecture.md).

CREATE TABLE users (
    id          text PRIMARY KEY,
    email       text,
    name        text,
    username    text,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE owners (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('organisation', 'account')),
    name        text NOT NULL DEFAULT '',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE owner_members (
    owner_id    text NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    role        text NOT NULL DEFAULT 'member',
    PRIMARY KEY (owner_id, user_id)
);
CREATE INDEX owner_members_user ON owner_members (user_id);

CREATE TABLE apps (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    owner_id    text NOT NULL,
    region      text,
    url         text,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX apps_owner ON apps (owner_id);

CREATE TABLE collaborators (
    app_id      text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id          text NOT NULL,
    user_id     text,
    email       text,
    username    text,
    role        text NOT NULL DEFAULT 'collaborator',
    status      text NOT NULL DEFAULT 'accepted',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, id)
);
CREATE INDEX collaborators_user ON collaborators (user_id);

-- A notifier is stored as the herald_core Notifier document; the columns beside it index it.
CREATE TABLE notifiers (
    id          text PRIMARY KEY,
    scope       text NOT NULL CHECK (scope IN ('app', 'owner', 'user')),
    app_id      text,
    owner_id    text,
    user_id     text,
    is_default  boolean NOT NULL DEFAULT false,
    document    jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifiers_app ON notifiers (app_id, created_at, id);
CREATE INDEX notifiers_owner ON notifiers (owner_id, created_at, id);
CREATE INDEX notifiers_user ON notifiers (user_id, created_at, id);

-- Rows to publish, in commit order per key (a key's changes are serialised by its row lock).
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    key         bytea,
    value       bytea,
    headers     jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE api_tokens (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    scope_kind  text NOT NULL CHECK (scope_kind IN ('admin', 'app', 'owner')),
    scope_id    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((scope_kind = 'admin') = (scope_id IS NULL))
);

CREATE TABLE idempotency_keys (
    token_id    text NOT NULL,
    key         text NOT NULL,
    method      text NOT NULL,
    path        text NOT NULL,
    body_hash   text NOT NULL,
    status      integer NOT NULL,
    response    bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, key)
);
