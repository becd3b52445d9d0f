"""Test support that runs Herald's own services in-process (importable as `support`, since the
root `pyproject.toml` puts `tests/` on pytest's `pythonpath`).

`libs/herald-testing` holds what knows no service (broker and database, receivers, stand-ins,
`ApiClient`, polling); what starts a service lives here, beside the tests that use it:

- `support.pipeline`: ingest, router and the webhook sender on the session broker (`Herald`,
  the `herald` fixture), and the e-mail sender with its SMTP sink (`MailSink`, `herald_mail`,
  `mail_sink`).
- `support.api`: the config API on the session's Postgres and Kafka (`api`, `admin`,
  `ADMIN_TOKEN`).

Both are registered as pytest plugins from `tests/conftest.py`. `support.helpers` is a plain
module of the small helpers several test files share (event and delivery builders, posting to
ingest, waiting on the router's view, sentinels, a recorder per test).
"""
