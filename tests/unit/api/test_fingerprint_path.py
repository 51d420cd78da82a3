"""A keyed request's fingerprint reads the path the way it always did (request.url.path): a
retry that straddles an upgrade must still match the fingerprint stored with its first answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from api.deps import url_path


def _request(path: str, query: bytes = b"") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "server": ("127.0.0.1", 8000),
            "path": path,
            "query_string": query,
            "headers": [(b"host", b"127.0.0.1:8000")],
        }
    )


@given(st.text(max_size=40), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126)))
def test_url_path_is_what_starlette_reads_from_the_scope(tail: str, query: str) -> None:
    request = _request("/v1/payments/" + tail, query.encode())
    assert url_path(request) == request.url.path


def test_the_characters_starlette_escapes() -> None:
    request = _request("/v1/payments/a?b#c\\d")
    assert url_path(request) == request.url.path == "/v1/payments/a%3Fb%23c%5Cd"
