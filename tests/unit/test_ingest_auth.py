"""Ingest's producer authentication and the stream tokens, as pure functions; over HTTP:
tests/integration/test_ingest_producers.py and tests/integration/test_event_stream.py."""

from __future__ import annotations

import time

import pytest
from herald_api.http.access import (
    STREAM_TOKEN_LIFETIME_S,
    StreamTokenRefused,
    issue_jwt,
    issue_stream_token,
    jwt_subject,
    stream_token_subject,
)
from herald_api.http.auth import Principal, TokenScope
from herald_ingest.auth import bearer_token, token_matches

SECRET = "7e" * 32
CALLER = Principal("tok-1", "ci", TokenScope.OWNER, "org-1")
PATH = "/v1/owners/org-1/events/stream"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Bearer", None),
        ("Bearer  ", None),
        ("Basic abc", None),
        ("abc", None),
        (None, None),
    ],
)
def test_the_bearer_token_of_a_header(header, token):
    assert bearer_token(header) == token


def test_a_token_matches_any_of_the_configured_ones_and_nothing_else():
    assert token_matches("b", ("a", "b"))
    assert not token_matches("c", ("a", "b"))
    assert not token_matches("", ("a",))
    assert not token_matches("a", ())
    assert not token_matches("ab", ("a",)), "no prefix match"


def test_a_stream_token_opens_its_path_as_its_caller_for_five_minutes():
    now = time.time()
    token = issue_stream_token(CALLER, PATH, SECRET, now)
    assert stream_token_subject(token, SECRET, PATH) == "tok-1"
    assert STREAM_TOKEN_LIFETIME_S == 300
    expired = issue_stream_token(CALLER, PATH, SECRET, now - STREAM_TOKEN_LIFETIME_S - 1)
    with pytest.raises(StreamTokenRefused, match="expired"):
        stream_token_subject(expired, SECRET, PATH)


def test_a_stream_token_opens_no_other_path():
    token = issue_stream_token(CALLER, PATH, SECRET, time.time())
    with pytest.raises(StreamTokenRefused, match="another stream"):
        stream_token_subject(token, SECRET, "/v1/owners/org-2/events/stream")


def test_an_altered_or_foreign_stream_token_is_refused():
    token = issue_stream_token(CALLER, PATH, SECRET, time.time())
    header, payload, signature = token.split(".")
    altered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for bad, secret in ((altered, SECRET), (token, "other" * 10), ("not.a.jwt", SECRET)):
        with pytest.raises(StreamTokenRefused, match="not valid"):
            stream_token_subject(bad, secret, PATH)


def test_stream_tokens_and_exchange_jwts_do_not_stand_in_for_each_other():
    exchanged = issue_jwt(CALLER, SECRET, time.time())
    with pytest.raises(StreamTokenRefused, match="not valid"):
        stream_token_subject(exchanged, SECRET, PATH)
    streaming = issue_stream_token(CALLER, PATH, SECRET, time.time())
    assert jwt_subject(streaming, SECRET) is None
    assert jwt_subject(exchanged, SECRET) == "tok-1"
