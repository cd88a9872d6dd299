"""Fuzzing the JSON API: every operation of the served OpenAPI schema, through schemathesis.

A signed-in member who is an operator of BE (so operator routes run past their 403) with a
valid CSRF token calls every operation of ``/schema/openapi.json`` over the demo data, with
valid and invalid input. Every response must be something the schema documents (status code,
content type, body) and none may be a 5xx (DESIGN.md invariant 7: bad input gets a clear 4xx,
never a 500).

Path parameters are steered half of the time to rows that exist (a poll, a theme, an edition's
slug ...), so the fuzzer reaches the code behind the 404s. Generation is derandomized with a
fixed seed: CI replays the same requests every run. Like every database test, it runs on SQLite
and on PostgreSQL.

A second pass sends hostile JSON bodies to every POST, PUT, PATCH and DELETE operation (issue
15): arrays and objects nested up to 2,000 levels, arrays and objects of up to 100,000 items,
strings of up to 2,000,000 characters and numbers beyond 64 bits, in every field of the body in
turn and as the whole body. Each answer must be below 500 (the limits of ``core.web.limits``
refuse most of them with a 400 problem body; what passes them is the handlers' to refuse).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from typing import Any

import hypothesis
import msgspec
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import ASGIClient, get_client, shutdown_lifespans

from core import db
from core.auth.services import create_sign_in_link
from core.config import Settings
from core.editions.tables import Edition
from core.groups.tables import InfoSession, Meeting, MeetingSlot, WorkingGroup
from core.members.tables import Member
from core.notifications.tables import Notification, OutboxMessage
from core.polls.tables import Poll
from core.recommendations.outcomes import OUTCOMES
from core.recommendations.tables import Bundle, Milestone, Project, Recommendation
from core.themes.tables import Theme
from plugins.demo import OPERATOR_OF, seed_demo

SEED = 2015  # fixed, so every run (and CI) sends the same requests
EXAMPLES_PER_OPERATION = 12
# Hostile examples per field (or whole body) and kind of hostile value (nesting, items, long
# strings, large numbers).
HOSTILE_EXAMPLES = 3
# The fuzzer signs out (at most once per example of that operation; the hostile pass at most
# once per example sent to sign-out, "end all sessions" and "end a session", for each of the
# 4 kinds, counted twice for margin): each sign-in again takes a fresh one-time link.
SIGN_INS = 2 * EXAMPLES_PER_OPERATION + 2 * 3 * 4 * HOSTILE_EXAMPLES + 1

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        # Business rules (a poll closes after it opens, a phase is open) answer 400 to input
        # the schema cannot rule out, so schema-valid input is not expected to succeed.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)

# Which table (and column) the rows named by a path parameter (or a body field) come from.
ROWS = {
    "poll_id": (Poll, Poll.id),
    "grantor": (Member, Member.id),  # a proxy ballot's grantor, by id in the body
    "theme_id": (Theme, Theme.id),
    "group_id": (WorkingGroup, WorkingGroup.id),
    "slot_id": (MeetingSlot, MeetingSlot.id),
    "meeting_id": (Meeting, Meeting.id),
    "session_id": (InfoSession, InfoSession.id),
    "rec_id": (Recommendation, Recommendation.id),
    "bundle_id": (Bundle, Bundle.id),
    "project_id": (Project, Project.id),
    "milestone_id": (Milestone, Milestone.id),
    "notification_id": (Notification, Notification.id),
    "message_id": (OutboxMessage, OutboxMessage.id),
    "slug": (Edition, Edition.slug),
}
KNOWN = {"country": ["BE", "FR"], "language": ["nl", "fr", "en"]}
# Body fields whose valid values the schema does not list.
BODY_FIELDS = {
    "method": ["plurality", "approval", "borda", "schulze", "stv"],
    "mode": ["in_person", "online"],
    "outcome": list(OUTCOMES),
}


async def existing_rows() -> dict[str, list[Any]]:
    known: dict[str, list[Any]] = dict(KNOWN)
    for name, (table, column) in ROWS.items():
        rows = await table.select(column).order_by(column)
        known[name] = [row[column._meta.name] for row in rows]
    return known


def pick(known: dict[str, list[Any]], name: str, value: Any) -> Any:
    """Half of the drawn values become a known one (picked by the drawn value itself, so the
    mapping is as deterministic as the draw); the others stay as drawn."""
    pool = known.get(name)
    if not pool or isinstance(value, bool) or not isinstance(value, int | str):
        return value
    digest = zlib.crc32(repr(value).encode())
    return pool[digest // 2 % len(pool)] if digest % 2 else value


def steer(known: dict[str, list[Any]]) -> tuple[Any, Any]:
    """``map_path_parameters`` and ``map_body`` hooks: reach existing rows and known values."""
    fields = {
        **known,
        **BODY_FIELDS,
        "into": known["theme_id"],
        "recommendation_id": known["rec_id"],
    }
    del fields["slug"]  # a body's slug names a new edition

    def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return path_parameters
        for name, value in path_parameters.items():
            path_parameters[name] = pick(known, name, value)
        return path_parameters

    def map_body(context: Any, body: Any) -> Any:
        if isinstance(body, dict):
            for name, value in body.items():
                if name in fields:
                    body[name] = pick(fields, name, value)
        return body

    return map_path_parameters, map_body


class SignedInSession:
    """A requests session on the app, signed in as the BE operator, with its CSRF token."""

    def __init__(self, app: Any, links: list[str]) -> None:
        self.client: ASGIClient = get_client(app)
        self.client.__enter__()
        self.links = list(links)  # one-time sign-in links, one per sign-in
        self.csrf_token = ""
        self.sign_in()

    def sign_in(self) -> None:
        self.csrf_token = self.client.get("/api/session").json()["csrf_token"]
        token = self.links.pop()
        response = self.client.post(
            f"/api/sign-in/link/{token}", headers={"x-csrftoken": self.csrf_token}
        )
        assert response.status_code == 200, response.text

    def still_signed_in(self) -> None:
        """Sign in again after an operation that may have ended the session (sign-out)."""
        if self.client.get("/api/me").status_code != 200:
            self.sign_in()

    def close(self) -> None:
        self.client.__exit__(None, None, None)


class Demo(msgspec.Struct):
    settings: Settings
    sign_in_links: list[str]  # the BE operator's
    rows: dict[str, list[Any]]


@pytest.fixture
async def demo(database: Settings) -> Demo:
    await seed_demo(database)
    operator = await Member.select(Member.id).where(Member.member_number == OPERATOR_OF["BE"])
    links = [await create_sign_in_link(operator[0]["id"], 30) for _ in range(SIGN_INS)]
    return Demo(database, links, await existing_rows())


@pytest.fixture
def app(demo: Demo) -> Any:
    from core.app import create_app

    return create_app(demo.settings, engine=db.engine())


@pytest.fixture
def session(app: Any, demo: Demo) -> Iterator[SignedInSession]:
    signed_in = SignedInSession(app, demo.sign_in_links)
    yield signed_in
    signed_in.close()
    shutdown_lifespans()


def tuples_as_arrays(schema: Any) -> Any:
    """``prefixItems`` of one repeated schema (a pair of strings) as the same array in
    ``items``/``minItems``/``maxItems``: schemathesis 4 rewrites ``prefixItems`` into the older
    array form of ``items`` and then refuses its own rewrite when it validates a response."""
    if isinstance(schema, list):
        return [tuples_as_arrays(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: tuples_as_arrays(value) for key, value in schema.items()}
    prefix = schema.get("prefixItems")
    if prefix and "items" not in schema and all(item == prefix[0] for item in prefix):
        del schema["prefixItems"]
        schema.update(items=prefix[0], minItems=len(prefix), maxItems=len(prefix))
    return schema


@pytest.fixture
def api_schema(app: Any, session: SignedInSession) -> Any:
    served = session.client.get("/schema/openapi.json")
    assert served.status_code == 200
    loaded = schemathesis.openapi.from_dict(tuples_as_arrays(served.json()), config=CONFIG)
    loaded.app = app  # calls go through the ASGI transport, as with from_asgi
    return loaded


def fuzz(operation: Any, hooks: Any, session: SignedInSession) -> None:
    """Run one operation with valid and invalid input; raises the first (shrunk) failure."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, hooks=hooks),
        operation.as_strategy(GenerationMode.NEGATIVE, hooks=hooks),
    )

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=cases)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(session=session.client, headers={"x-csrftoken": session.csrf_token})
        if case.path.startswith(SESSION_CHANGERS):
            session.still_signed_in()

    run()


# Operations after which the session may have ended.
SESSION_CHANGERS = ("/api/sign-out", "/api/sign-in", "/api/me/password", "/api/account/sessions")


def test_every_operation_answers_as_documented_and_never_with_a_5xx(
    api_schema: Any, session: SignedInSession, demo: Demo
) -> None:
    for hook in steer(demo.rows):
        api_schema.hook(hook)
    failures = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            fuzz(operation, api_schema.hooks, session)
        except (Exception, FailureGroup) as exc:  # every operation runs; all are reported
            failures.append(f"{operation.label}: {exc}")
    assert operations > 100
    assert not failures, f"{len(failures)} operations fail:\n\n" + "\n\n".join(failures)


# -- hostile bodies: deep nesting, huge arrays and strings, numbers beyond 64 bits ------------

DEEPEST = 2_000
MOST_ITEMS = 100_000
LONGEST = 2_000_000
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Hypothesis raises the recursion limit while a test runs (to about 2,000 frames more): the
# hostile requests are sent at the limit a server runs with, where deep nesting fails.
SERVER_RECURSION_LIMIT = sys.getrecursionlimit()


def nested(depth: int, kind: str, leaf: str) -> bytes:
    """``depth`` arrays (or objects) one inside the other, written out: Python's and msgspec's
    encoders would refuse to nest this deep themselves."""
    opening, closing = ("[", "]") if kind == "array" else ('{"k":', "}")
    return (opening * depth + leaf + closing * depth).encode()


def many(count: int, kind: str, item: str) -> bytes:
    if kind == "array":
        return ("[" + ",".join([item] * count) + "]").encode()
    return ("{" + ",".join(f'"k{i}":{item}' for i in range(count)) + "}").encode()


def long_string(length: int, character: str) -> bytes:
    """A JSON string of ``length`` times ``character`` (written as JSON writes it)."""
    return ('"' + character * length + '"').encode()


# The extremes first (the first example Hypothesis draws is the first of each list), the
# limits' edges, then anything up to the extremes.
DEEP_NESTING = st.builds(
    nested,
    st.one_of(st.sampled_from([DEEPEST, 1_000, 33, 32]), st.integers(1, DEEPEST)),
    st.sampled_from(["array", "object"]),
    st.sampled_from(["0", '"x"', "[]", "{}", "null", "1.5"]),
)
HUGE_COLLECTIONS = st.builds(
    many,
    st.one_of(st.sampled_from([MOST_ITEMS, 10_001, 10_000]), st.integers(0, MOST_ITEMS)),
    st.sampled_from(["array", "object"]),
    st.sampled_from(["0", '"x"', "[]", "{}", "true", "-1.5", str(2**64)]),
)
HUGE_STRINGS = st.builds(
    long_string,
    st.one_of(st.sampled_from([LONGEST, 1_000_001, 999_990, 100_000]), st.integers(0, LONGEST)),
    st.sampled_from(["a", "é", "\U0001f600", "\\\\", '\\"', "\\u0000", "<", " "]),
)
BEYOND_64_BITS = st.sampled_from(
    [str(n).encode() for n in (10**400, -(10**400), 2**64, -(2**64), 2**63, -(2**63) - 1)]
    + [b"9" * 5000, b"1e400", b"-1e400", b"1" + b"0" * 400 + b".5"]
)
HOSTILE = {
    "nesting": DEEP_NESTING,
    "items": HUGE_COLLECTIONS,
    "strings": HUGE_STRINGS,
    "numbers": BEYOND_64_BITS,
}
# Stands for the hostile value in an encoded body, then is replaced by it.
PLACEHOLDER = "\x00hostile value\x00"


def body_fields(operation: Any) -> list[str]:
    """The top-level properties of the operation's JSON body (none without one)."""
    body = operation.definition.raw.get("requestBody")
    if not body:
        return []
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = operation.schema.raw_schema["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return sorted(schema.get("properties", {}))


def hostile_body(body: Any, field: str | None, value: bytes) -> bytes:
    """``body`` (a valid one drawn for the operation) with ``value`` in ``field``, or ``value``
    as the whole body."""
    if field is None or not isinstance(body, dict):
        return value
    encoded = msgspec.json.encode({**body, field: PLACEHOLDER})
    return encoded.replace(msgspec.json.encode(PLACEHOLDER), value, 1)


def send_hostile(
    operation: Any, hooks: Any, session: SignedInSession, field: str | None, values: Any
) -> None:
    """A valid case of the operation with hostile ``values`` in ``field``: never a 5xx."""

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=HOSTILE_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,  # the verdict never depends on the machine's speed
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(
        case=operation.as_strategy(GenerationMode.POSITIVE, hooks=hooks), value=values
    )
    def run(case: schemathesis.Case, value: bytes) -> None:
        raised = sys.getrecursionlimit()
        sys.setrecursionlimit(SERVER_RECURSION_LIMIT)
        try:
            response = session.client.request(
                case.method,
                case.formatted_path,
                params=case.query or None,
                data=hostile_body(case.body, field, value),
                headers={"x-csrftoken": session.csrf_token, "content-type": "application/json"},
            )
        finally:
            sys.setrecursionlimit(raised)
        assert response.status_code < 500, response.text[:500]
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        if case.path.startswith(SESSION_CHANGERS):
            session.still_signed_in()

    run()


def test_hostile_bodies_in_every_field_never_get_a_5xx(
    api_schema: Any, session: SignedInSession, demo: Demo
) -> None:
    for hook in steer(demo.rows):
        api_schema.hook(hook)
    failures = []
    sent = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in UNSAFE:
            continue
        for field in [None, *body_fields(operation)]:
            for kind, values in HOSTILE.items():
                sent += 1
                try:
                    send_hostile(operation, api_schema.hooks, session, field, values)
                except (Exception, FailureGroup) as exc:  # every one runs; all are reported
                    where = f"field {field!r}" if field else "the whole body"
                    failures.append(f"{operation.label}, {kind} in {where}: {exc}")
    assert sent > 400  # about 68 operations, 99 fields, 4 kinds
    assert not failures, f"{len(failures)} hostile bodies fail:\n\n" + "\n\n".join(failures)


# -- what the fuzzer found, kept as plain tests ---------------------------------------------


async def test_every_api_refusal_is_documented_as_a_problem_body(client):
    """Found by the fuzzer: the schema documented only Litestar's validation error (another
    body, as application/json), so every 401, 403, 404, 409 ... was an undocumented answer."""
    schema = (await client.get("/schema/openapi.json")).json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api/"):
                continue
            for status in ("400", "401", "403", "404", "409", "429"):
                content = operation["responses"][status]["content"]
                assert content == {"application/problem+json": {"schema": problem}}, (
                    method,
                    path,
                    status,
                )
    documented = schema["components"]["schemas"]["Problem"]
    response = await client.get("/api/polls/99999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(documented["required"]) <= set(body) <= set(documented["properties"])
    assert body["status"] == 404 and body["instance"] == "/api/polls/99999"


async def test_the_api_schema_lists_no_html_page(client):
    """Found by the fuzzer: /operator/plugins, an HTML page, was in the JSON API's schema."""
    schema = (await client.get("/schema/openapi.json")).json()
    assert [p for p in schema["paths"] if not p.startswith("/api/") and p != "/healthz"] == []


async def test_a_poll_number_beyond_the_id_range_is_not_found(client):
    """Found on PostgreSQL, which refuses such a number as a query argument (it was a 500)."""
    response = await client.get("/api/polls/8475300403/result")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
