"""The HTTP client every network backend uses (wfctl/http.py): retries, Retry-After, redirects, redaction,
bodies that lie, one line for every failure (README, "Faults")."""

import httpx
import pytest

from wfctl.errors import AuthError, NotFoundError, UnavailableError, UsageError
from wfctl.http import HttpClient


def client(handler, **kw):
    c = HttpClient("http://engine.test", transport=httpx.MockTransport(handler), engine="Test", **kw)
    c._sleep = lambda s: None
    return c


def test_retries_honour_retry_after_then_succeed():
    calls, delays = [], []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503, headers={"retry-after": "2"})
        return httpx.Response(200, json={"ok": True})

    c = client(handler)
    c._sleep = delays.append
    assert c.get_json("/x") == {"ok": True}
    assert delays == [2.0, 2.0]


def test_post_not_retried_by_default():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503)

    with pytest.raises(UnavailableError):
        client(handler).json("POST", "/x")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "status,exc", [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, UsageError), (500, UnavailableError)]
)
def test_status_mapping(status, exc):
    c = client(lambda r: httpx.Response(status, json={"message": "nope"}), max_retries=0)
    with pytest.raises(exc) as info:
        c.get_json("/x")
    assert "nope" in info.value.message


def test_html_body_is_one_line():
    c = client(lambda r: httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"}))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert info.value.message == "Test answered HTTP 200 with text/html that is not JSON (GET /x)"


def test_connection_refused_is_unavailable():
    c = HttpClient("http://127.0.0.1:9", engine="Test", max_retries=1)
    c._sleep = lambda s: None
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert "unreachable" in info.value.message


def test_debug_log_redacts_token():
    lines = []
    c = client(
        lambda r: httpx.Response(200, json={}, headers={"set-cookie": "s=1"}),
        token="tok-SECRET-123",
        debug_log=lines.append,
    )
    c.get_json("/x", params={"q": "tok-SECRET-123"})
    text = "\n".join(lines)
    assert "tok-SECRET-123" not in text
    assert "authorization: ***" in text and "> GET" in text and "< 200" in text


def test_redirect_to_another_origin_is_refused_before_anything_is_sent_there():
    seen = []

    def handler(request):
        seen.append(request.url.host)
        if request.url.host == "engine.test":
            return httpx.Response(302, headers={"location": "http://other.test/y"})
        return httpx.Response(200, json={})

    with pytest.raises(UnavailableError) as info:
        client(handler, token="abc").get_json("/x")
    assert seen == ["engine.test"]  # credentials never reached other.test
    assert info.value.message == (
        "Test redirected a GET to http://other.test/y, another origin than "
        "http://engine.test: wfctl does not follow redirects away from the configured "
        "engine"
    )


def test_redirect_within_the_origin_is_followed():
    def handler(request):
        if request.url.path == "/x":
            return httpx.Response(308, headers={"location": "/x/"})
        return httpx.Response(200, json={"ok": True})

    assert client(handler).get_json("/x") == {"ok": True}


def test_redirect_loop_is_one_line():
    c = client(lambda r: httpx.Response(302, headers={"location": "/again"}))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert "redirected GET /x in a loop" in info.value.message


def test_plain_http_engine_refuses_redirect_to_https():
    def handler(request):
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"location": "https://engine.test/x"})
        return httpx.Response(200, json={})

    with pytest.raises(UnavailableError) as info:
        client(handler).get_json("/x")
    assert "https" in info.value.hint and "http:// URL" in info.value.message


@pytest.mark.parametrize(
    "body,headers,expected",
    [
        (
            b'{"a": 1',
            {"content-type": "application/json"},
            "whose JSON ends early, after 7 bytes (Content-Length: 7): a truncated answer",
        ),
        (
            b'{"name": "caf\xe9"}',
            {"content-type": "application/json; charset=utf-8"},
            "whose body is not valid utf-8 (byte 13)",
        ),
        (b'{"name": "caf\xe9"}', {"content-type": "application/json"}, "whose body is not valid UTF-8 (byte 13)"),
        (b'{"a": 1}', {"content-type": "application/json; charset=x-no-such"}, "in an unknown charset 'x-no-such'"),
        (b'{"a": 1}', {"content-type": "application/json; charset=utf-16"}, "that is not JSON"),
        (b"[" * 100_000, {"content-type": "application/json"}, "nested too deeply"),
    ],
)
def test_bodies_that_lie_about_their_json_are_one_line(body, headers, expected):
    c = client(lambda r: httpx.Response(200, content=body, headers=headers))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert (
        info.value.message.startswith("Test answered HTTP 200 with application/json")
        and expected in info.value.message
        and info.value.message.endswith("(GET /x)")
    )


def test_json_in_a_declared_charset_and_under_another_content_type_is_read():
    text = '{"name": "café"}'
    c = client(
        lambda r: httpx.Response(
            200, content=text.encode("latin-1"), headers={"content-type": "application/json; charset=iso-8859-1"}
        )
    )
    assert c.get_json("/x") == {"name": "café"}
    c = client(lambda r: httpx.Response(200, content=text.encode(), headers={"content-type": "text/plain"}))
    assert c.get_json("/x") == {"name": "café"}


def test_a_body_larger_than_the_cap_is_refused():
    c = client(lambda r: httpx.Response(200, content=b"[" + b"1," * 1000 + b"1]"), max_body=1000)
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert info.value.message == "Test answered GET /x with a body larger than 1000 bytes; wfctl stops reading there"


def test_retry_after_beyond_the_budget_gives_up_at_once():
    calls, delays = [], []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, headers={"retry-after": "120"}, json={"message": "maintenance"})

    c = client(handler, read_timeout=5)
    c._sleep = delays.append
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert len(calls) == 1 and delays == [] and "maintenance" in info.value.message


def test_shape_errors_become_one_line():
    from wfctl.http import guarded_call

    class Engine:
        label = "Some engine"

        def get_run(self, run_id):
            return {"a": 1}["missing"]

        def tail(self, run_id):
            yield 1
            [].get("x")

    with pytest.raises(UnavailableError) as info:
        guarded_call(Engine.get_run, Engine(), "run {0}", ("r1",), {})
    assert info.value.message == "Some engine answered run r1 in a shape wfctl does not read (KeyError: 'missing')"
    items = guarded_call(Engine.tail, Engine(), "the events of {0}", ("r1",), {})
    assert next(items) == 1
    with pytest.raises(UnavailableError) as info:
        next(items)
    assert "Some engine answered the events of r1 in a shape" in info.value.message
