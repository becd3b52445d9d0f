"""The API's pure HTTP helpers: what may be stored, and page bounds (found by the fuzzer)."""

from __future__ import annotations

import pytest
from herald_api.http.web import MAX_PAGE, ApiProblem, page_of, storable, unstorable_text


@pytest.mark.parametrize(
    ("document", "errors"),
    [
        ({"user": {"name": "Ada", "tags": ["é", "😀"]}}, {}),
        (
            {"user": {"name": "a\x00b"}},
            {"user.name": ["must not contain NUL characters or unpaired surrogates"]},
        ),
        (
            {"user": {"tags": ["ok", "\ud800"]}},
            {"user.tags.1": ["must not contain NUL characters or unpaired surrogates"]},
        ),
        (
            {"a\x00": 1},
            {"body": ["a member name must not contain NUL characters or unpaired surrogates"]},
        ),
        ("\x00", {"body": ["must not contain NUL characters or unpaired surrogates"]}),
        ([[[[["deep"]]]]] * 3, {}),
    ],
)
def test_unstorable_text_names_every_field_postgres_would_refuse(document, errors):
    assert unstorable_text(document) == errors


def test_a_deeply_nested_body_is_walked_without_recursion():
    document: object = "x\x00"
    for _ in range(50_000):
        document = [document]
    assert list(unstorable_text(document)) == ["0" + ".0" * 49_999]


@pytest.mark.parametrize(
    ("text", "ok"), [("", True), ("abc", True), ("\x00", False), ("\udfff", False)]
)
def test_storable(text, ok):
    assert storable(text) is ok


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": str(MAX_PAGE + 1)}, "page"),
        ({"page": "0"}, "page"),
        ({"per_page": "x"}, "per_page"),
    ],
)
def test_page_numbers_out_of_range_are_422(query, field):
    with pytest.raises(ApiProblem) as caught:
        page_of(query, default_size=10, max_size=100)
    assert caught.value.status == 422
    assert list(caught.value.errors) == [field]


def test_the_last_allowed_page_keeps_the_offset_in_bigint():
    page = page_of({"page": str(MAX_PAGE), "per_page": "1000"}, default_size=10, max_size=10_000)
    assert page.offset < 2**63
