"""Limits on request bodies (issue 15, item 1): depth, size and items of a JSON body, size and
fields of a form, integers beyond 64 bits; a body past a limit gets 400 with a problem body (the
error page for a form) naming the limit, and changes nothing; a body at the limit is handled as
usual. The member import's large files still go through. Every test runs on SQLite and on
PostgreSQL.

The probe that found it: ``POST /api/sign-in/link`` with ``{"email":`` and 1,000 nested arrays
answered 500 with a RecursionError in the log (600 levels got a 400).

Normal handling of ``POST /api/sign-in/link`` is seen in the database: every request that gets
past the body's checks is counted in ``sign_in_link_request`` before the answer, whoever's the
address (tests/test_sign_in_links.py), and its struct ignores fields it does not know, so a free
``extra`` field carries the hostile part.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core import db
from core.app import create_app
from core.audit.tables import AuditEntry
from core.auth.tables import SignInLinkRequest, SignInToken
from core.config import Limits
from core.members.tables import Member
from tests.conftest import add_member, csrf_token, sign_in

LINK = "/api/sign-in/link"
DEFAULTS = Limits()


def nested(depth: int, kind: str = "array") -> str:
    """``depth`` levels of arrays (or objects), one inside the other, around a 0."""
    if kind == "array":
        return "[" * depth + "0" + "]" * depth
    return '{"k":' * depth + "0" + "}" * depth


def link_request(email: str, extra: str) -> bytes:
    """A sign-in link request whose ``extra`` field is the JSON text ``extra``."""
    return f'{{"email": "{email}", "extra": {extra}}}'.encode()


def padded_request(email: str, size: int) -> bytes:
    """A sign-in link request of exactly ``size`` bytes (a long string in ``extra``)."""
    body = link_request(email, '""')
    return body[:-3] + b'"' + b"x" * (size - len(body)) + b'"}'


async def post_json(client: AsyncTestClient[Any], body: bytes, **headers: str) -> Any:
    headers = {"x-csrftoken": await csrf_token(client), "content-type": "application/json"} | {
        name.replace("_", "-"): value for name, value in headers.items()
    }
    return await client.post(LINK, content=body, headers=headers)


async def post_form(client: AsyncTestClient[Any], path: str, body: bytes) -> Any:
    return await client.post(
        path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )


def refused(response: Any, *words: str) -> str:
    """The answer is the limits' 400 problem body; its detail (which names the limit)."""
    assert response.status_code == 400, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    for word in words:
        assert word in detail
    return detail


async def requests_counted() -> int:
    return await SignInLinkRequest.count()


async def nothing_changed() -> None:
    assert await SignInLinkRequest.count() == 0
    assert await SignInToken.count() == 0
    assert await AuditEntry.count() == 0


@pytest.fixture
async def limited(database) -> AsyncIterator[Any]:
    """A client factory on an app with the given ``[limits]``."""
    clients: list[AsyncTestClient[Any]] = []

    async def make(**limits: int) -> AsyncTestClient[Any]:
        settings = msgspec.structs.replace(database, limits=Limits(**limits))
        app = create_app(settings, engine=db.engine())
        client = AsyncTestClient(app=app, base_url="http://127.0.0.1:8000")
        clients.append(client)
        return await client.__aenter__()

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


# -- the reproduction -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
async def test_a_thousand_nested_arrays_get_a_400_problem_and_change_nothing(
    client, caplog, content_type
):
    """Litestar decodes a route's JSON ``data`` whatever the Content-Type says: the limits
    follow the route, not only the header."""
    body = b'{"email":' + b"[" * 1000 + b"]" * 1000 + b"}"

    with caplog.at_level(logging.ERROR):
        response = await post_json(client, body, content_type=content_type)

    detail = refused(response)
    assert detail == "The JSON body is nested too deeply: at most 32 levels of arrays and objects."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no RecursionError
    await nothing_changed()


# -- JSON: each limit at its edge -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "object"])
async def test_nesting_to_the_depth_limit_is_handled_and_one_more_level_is_refused(client, kind):
    # The request's own object is the first level.
    deepest = link_request("deep@example.org", nested(DEFAULTS.json_max_depth - 1, kind))
    too_deep = link_request("deeper@example.org", nested(DEFAULTS.json_max_depth, kind))

    assert (await post_json(client, deepest)).status_code == 202
    assert await requests_counted() == 1

    refused(await post_json(client, too_deep), "nested too deeply", "32 levels")
    assert await requests_counted() == 1


async def test_brackets_inside_strings_are_not_nesting(client):
    text = msgspec.json.encode("[{" * 5000 + '\\"[' + "]}" * 10)
    response = await post_json(client, link_request("brackets@example.org", text.decode()))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("kind", ["array", "object"])
async def test_the_item_limit_is_handled_and_one_more_item_is_refused(client, kind):
    def items(count: int) -> str:
        if kind == "array":
            return "[" + ",".join(["0"] * count) + "]"
        return "{" + ",".join(f'"k{i}":0' for i in range(count)) + "}"

    most = link_request("items@example.org", items(DEFAULTS.json_max_items))
    too_many = link_request("more@example.org", items(DEFAULTS.json_max_items + 1))

    assert (await post_json(client, most)).status_code == 202
    detail = refused(await post_json(client, too_many), "too many items")
    assert detail.endswith("at most 10,000.")
    assert await requests_counted() == 1


async def test_the_size_limit_is_handled_and_one_more_byte_is_refused(client):
    largest = padded_request("large@example.org", DEFAULTS.json_max_bytes)
    too_large = padded_request("larger@example.org", DEFAULTS.json_max_bytes + 1)
    assert len(largest) == 1_000_000 and len(too_large) == 1_000_001

    assert (await post_json(client, largest)).status_code == 202
    detail = refused(await post_json(client, too_large), "too large")
    assert detail == "The JSON body is too large: at most 1,000,000 bytes."
    assert await requests_counted() == 1


async def test_a_body_without_a_length_is_counted_as_it_arrives(database):
    """Sent in pieces without Content-Length (httpx's ASGI transport streams them; Litestar's
    test client would join them first)."""

    async def pieces(count: int) -> AsyncIterator[bytes]:
        yield b'{"email": "stream@example.org", "extra": "'
        for _ in range(count):
            yield b"x" * 60_000
        yield b'"}'

    app = create_app(database, engine=db.engine())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        csrf = (await client.get("/api/session")).json()["csrf_token"]
        headers = {"x-csrftoken": csrf, "content-type": "application/json"}

        small = await client.post(LINK, content=pieces(16), headers=headers)  # 960,000 bytes
        large = await client.post(LINK, content=pieces(17), headers=headers)  # 1,020,000 bytes

    assert "content-length" not in small.request.headers
    assert small.status_code == 202, small.text
    refused(large, "too large")
    assert await requests_counted() == 1


# -- JSON: integers beyond 64 bits ------------------------------------------------------------


def numbers(**named: int | str) -> list[Any]:
    return [pytest.param(str(value), id=name) for name, value in named.items()]


@pytest.mark.parametrize("number", numbers(largest=2**63 - 1, smallest=-(2**63)))
async def test_the_largest_64_bit_integers_are_handled(client, number):
    response = await post_json(client, link_request("int@example.org", number))
    assert response.status_code == 202, response.text


BEYOND_64_BITS = numbers(
    two_to_the_63=2**63,
    minus_two_to_the_63_minus_1=-(2**63) - 1,
    two_to_the_64=2**64,
    minus_two_to_the_64=-(2**64),
    ten_to_the_400=10**400,
    minus_ten_to_the_400=-(10**400),
    five_thousand_digits="9" * 5000,  # more than Python converts from text by default
)


@pytest.mark.parametrize("number", BEYOND_64_BITS)
async def test_an_integer_beyond_64_bits_is_refused_in_a_free_field(client, number):
    refused(await post_json(client, link_request("int@example.org", number)), "64 bits")
    await nothing_changed()


@pytest.mark.parametrize(
    "number", numbers(e400="1e400", minus_e400="-1e400", long_fraction="1" + "0" * 400 + ".5")
)
async def test_a_number_beyond_a_64_bit_float_is_refused(client, number):
    refused(await post_json(client, link_request("float@example.org", number)), "out of range")
    await nothing_changed()


@pytest.mark.parametrize("number", BEYOND_64_BITS)
async def test_an_integer_beyond_64_bits_is_refused_in_an_integer_field(client, number):
    member_id = await add_member("operator@example.org", roles=(("operator", "BE"),))
    await sign_in(client, member_id)
    csrf = await csrf_token(client)

    def merge(into: str) -> Any:
        return client.post(
            "/api/themes/1/merge",
            content=b'{"into": %s}' % into.encode(),
            headers={"x-csrftoken": csrf, "content-type": "application/json"},
        )

    refused(await merge(number), "64 bits")
    # Within 64 bits, the route answers as usual: there is no theme 1.
    usual = await merge(str(2**63 - 1))
    assert usual.status_code == 404, usual.text
    assert "64 bits" not in usual.json()["detail"]


async def test_malformed_json_gets_a_problem_naming_the_fault(client):
    detail = refused(await post_json(client, b'{"email": '), "not valid JSON")
    assert detail == "The request body is not valid JSON (Input data was truncated)."
    await nothing_changed()


# -- forms ------------------------------------------------------------------------------------


async def test_a_form_at_the_size_limit_is_handled_and_one_byte_more_gets_the_error_page(client):
    csrf = await csrf_token(client)

    def padded(size: int, email: str) -> bytes:
        body = f"email={email}&_csrf_token={csrf}&pad=".encode()
        return body + b"x" * (size - len(body))

    largest = padded(DEFAULTS.form_max_bytes, "form@example.org")
    assert len(largest) == 262_144

    page = await post_form(client, "/sign-in/link", largest)
    assert page.status_code == 200, page.text[:500]
    assert await requests_counted() == 1

    page = await post_form(client, "/sign-in/link", padded(262_145, "more@example.org"))
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "The form is too large: at most 262,144 bytes." in page.text
    assert await requests_counted() == 1


async def test_a_form_with_the_most_fields_is_handled_and_one_more_gets_the_error_page(client):
    csrf = await csrf_token(client)

    def form(fields: int, email: str) -> bytes:
        others = [f"f{i}=1" for i in range(fields - 2)]
        return "&".join([f"email={email}", f"_csrf_token={csrf}", *others]).encode()

    page = await post_form(client, "/sign-in/link", form(1000, "fields@example.org"))
    assert page.status_code == 200, page.text[:500]

    page = await post_form(client, "/sign-in/link", form(1001, "more@example.org"))
    assert page.status_code == 400
    assert "The form has too many fields: at most 1,000." in page.text
    assert await requests_counted() == 1


async def test_a_form_sent_to_the_api_gets_a_problem_body(client):
    csrf = await csrf_token(client)
    body = "&".join(["email=x@example.org", *(f"f{i}=1" for i in range(1000))]).encode()

    response = await client.post(
        "/api/language",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrftoken": csrf},
    )

    refused(response, "too many fields")


async def test_a_multipart_form_with_too_many_parts_gets_the_error_page(client):
    member_id = await add_member("operator@example.org", number="OP-1", roles=(("operator", "BE"),))
    await sign_in(client, member_id)
    csrf = await csrf_token(client)

    fields = {"_csrf_token": csrf} | {f"f{i}": "1" for i in range(1000)}
    page = await client.post(
        "/members/import",
        files={"file": ("members.csv", b"member_number\n", "text/csv")},
        data=fields,
    )

    assert page.status_code == 400
    assert "The form has too many fields: at most 1,000." in page.text


# -- the configured limits --------------------------------------------------------------------


async def test_the_configured_limits_are_the_ones_applied(limited):
    client = await limited(
        json_max_bytes=300,
        json_max_depth=3,
        json_max_items=4,
        form_max_bytes=400,
        form_max_fields=5,
        upload_max_bytes=5000,
    )

    async def ask(extra: str, email: str = "a@example.org") -> Any:
        return await post_json(client, link_request(email, extra))

    assert (await ask(nested(2), "depth@example.org")).status_code == 202
    refused(await ask(nested(3)), "at most 3 levels")
    assert (await ask("[1,2,3,4]", "items@example.org")).status_code == 202
    refused(await ask("[1,2,3,4,5]"), "at most 4.")
    size = await post_json(client, padded_request("size@example.org", 300))
    assert size.status_code == 202
    refused(await post_json(client, padded_request("a@example.org", 301)), "at most 300 bytes")
    assert await requests_counted() == 3

    csrf = await csrf_token(client)
    fields = f"email=form@example.org&_csrf_token={csrf}&a=1&b=2&c=3"
    assert (await post_form(client, "/sign-in/link", fields.encode())).status_code == 200
    page = await post_form(client, "/sign-in/link", (fields + "&d=4").encode())
    assert page.status_code == 400 and "at most 5." in page.text
    page = await post_form(client, "/sign-in/link", (fields + "&d=" + "x" * 400).encode())
    assert page.status_code == 400 and "at most 400 bytes." in page.text

    # Any other body: the upload limit, answered by Litestar with 413.
    member_id = await add_member("operator@example.org", number="OP-1", roles=(("operator", "BE"),))
    await sign_in(client, member_id)
    csrf = await csrf_token(client)

    async def upload(text: bytes) -> Any:
        return await client.post(
            "/api/members/import",
            content=text,
            headers={"content-type": "text/csv", "x-csrftoken": csrf},
        )

    def register(size: int) -> bytes:
        """One good row, with as many spaces after the name as make the file ``size`` bytes."""
        short = b"member_number,email,name,country,language,shareholder\nA1,a1@example.org,"
        short += b"Anna,BE,nl,yes\n"
        return short.replace(b"Anna", b"Anna" + b" " * (size - len(short)))

    assert len(register(5000)) == 5000
    assert (await upload(register(5000))).status_code == 200
    too_large = await upload(register(5001))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("application/problem+json")
    assert await Member.count() == 2  # the operator and A1


# -- the member import's large files ---------------------------------------------------------


def large_register(rows: int = 2000, padding: int = 3900) -> bytes:
    """About 7.8 MB of good rows: spaces after each name (the import trims cells) make the
    size, few rows keep the import short."""
    lines = ["member_number,email,name,country,language,shareholder"]
    for i in range(rows):
        name = f"Member {i:05d}" + " " * padding
        lines.append(f"L{i:05d},l{i:05d}@example.org,{name},BE,nl,yes")
    return ("\n".join(lines) + "\n").encode()


async def test_a_large_csv_file_is_imported_through_the_api(client):
    member_id = await add_member("operator@example.org", number="OP-1", roles=(("operator", "BE"),))
    await sign_in(client, member_id)
    file = large_register()
    assert len(file) > 7_800_000

    response = await client.post(
        "/api/members/import",
        content=file,
        headers={"content-type": "text/csv", "x-csrftoken": await csrf_token(client)},
    )

    assert response.status_code == 200, response.text[:500]
    assert await Member.count() == 2001


async def test_a_large_csv_file_is_imported_through_the_page(client):
    member_id = await add_member("operator@example.org", number="OP-1", roles=(("operator", "BE"),))
    await sign_in(client, member_id)
    file = large_register()

    preview = await client.post(
        "/members/import",
        files={"file": ("members.csv", file, "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    import_id = str(preview.url).rstrip("/").split("/")[-1]
    page = await client.post(
        f"/members/import/{import_id}/confirm", data={"_csrf_token": await csrf_token(client)}
    )

    assert preview.status_code == 200, preview.text[:500]
    assert page.status_code == 200, page.text[:500]
    assert await Member.count() == 2001
