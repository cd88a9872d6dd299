"""The member import: the CSV check, the all-or-nothing write, the page, the JSON API, the hook.

Every test runs on SQLite and on PostgreSQL (the ``database`` and ``client`` fixtures).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core import db, hookimpl
from core.app import create_app
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.auth import services as auth
from core.auth.tables import SignInToken, WebSession
from core.config import Country
from core.events import MembersImported
from core.members import importer
from core.members.services import load_member
from core.members.tables import Member
from core.notifications.relay import Relay
from core.notifications.tables import Notification, NotificationEvent, OutboxMessage
from core.plugins import build_registry
from tests.conftest import add_member, csrf_token, sign_in
from tests.notify_support import SmtpSink, configured

HEADER = "member_number,email,name,country,language,shareholder"
OPERATOR_BE = (("operator", "BE"),)
OPERATOR_BOTH = (("operator", "BE"), ("operator", "FR"))


def csv_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


async def register() -> dict[str, dict[str, Any]]:
    """Every member row, by member number, exactly as stored."""
    rows = await Member.select().order_by(Member.id)
    return {row["member_number"]: row for row in rows}


def fields(row: dict[str, Any]) -> tuple[str, str, str, str, bool]:
    return (row["email"], row["name"], row["country"], row["language"], bool(row["shareholder"]))


def lines(report: importer.ImportReport) -> list[int]:
    return [error.line for error in report.errors]


# -- the service --------------------------------------------------------------------------------


SHAREHOLDER_WORDS = [
    ("yes", True),
    ("no", False),
    ("1", True),
    ("0", False),
    ("true", True),
    ("false", False),
    ("ja", True),
    ("nee", False),
    ("oui", True),
    ("non", False),
    ("YES", True),
    ("x", True),
    ("", False),
]


async def test_good_file_imports_every_row_with_its_fields(database):
    rows = [
        f"N{i}, Member{i}@Example.ORG , Name {i} ,be,NL,{word}"
        for i, (word, _) in enumerate(SHAREHOLDER_WORDS)
    ]
    rows.append('F1,f1@example.org,"Dupont, Marie",FR,fr,oui')

    report = await importer.import_members(csv_file(*rows))

    assert report.ok
    assert (report.rows, report.created, report.updated, report.unchanged) == (14, 14, 0, 0)
    assert report.by_country == {"BE": (13, 0), "FR": (1, 0)}
    stored = await register()
    assert len(stored) == 14
    for i, (_word, expected) in enumerate(SHAREHOLDER_WORDS):
        assert fields(stored[f"N{i}"]) == (
            f"member{i}@example.org",  # trimmed and lower-cased
            f"Name {i}",
            "BE",
            "nl",
            expected,
        )
    assert fields(stored["F1"]) == ("f1@example.org", "Dupont, Marie", "FR", "fr", True)


async def test_reimporting_the_same_file_changes_nothing(database):
    text = csv_file(
        "A1,a1@example.org,Anna,BE,nl,yes",
        "A2,a2@example.org,Bert,BE,fr,no",
        "A3,a3@example.org,Chloé,FR,fr,1",
    )
    first = await importer.import_members(text)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    before = await register()

    again = await importer.import_members(text)

    assert again.ok
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert again.by_country == {}
    assert await register() == before  # ids, timestamps and fields identical


async def test_changed_row_is_updated_and_the_others_are_left_alone(database):
    await importer.import_members(
        csv_file("A1,a1@example.org,Anna,BE,nl,yes", "A2,a2@example.org,Bert,BE,fr,no")
    )
    before = await register()

    report = await importer.import_members(
        csv_file("A1,a1@example.org,Anna,BE,nl,yes", "A2,bert@example.org,Bert Claes,FR,en,yes")
    )

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert report.by_country == {"FR": (0, 1)}
    after = await register()
    assert after["A1"] == before["A1"]
    assert after["A2"]["id"] == before["A2"]["id"]
    assert fields(after["A2"]) == ("bert@example.org", "Bert Claes", "FR", "en", True)


MALFORMED = "\n".join(
    [
        HEADER,  # 1
        "G1,g1@example.org,Good One,BE,nl,yes",  # 2
        'G2,g2@example.org,"Two-line',  # 3: a name with a line break is refused
        'name",FR,fr,no',  # 4: the end of G2's quoted name
        "B1,not-an-email,Bad Email,BE,nl,yes",  # 5
        "B2,b2@example.org,Bad Country,NL,nl,yes",  # 6
        "B3,b3@example.org,Bad Language,BE,de,yes",  # 7
        "B4,b4@example.org,   ,BE,nl,yes",  # 8
        "G1,b5@example.org,Same Number,BE,nl,yes",  # 9
        "B6,G1@example.org,Same Email,BE,nl,yes",  # 10
        "B7,b7@example.org,Too Few,BE,nl",  # 11
        "B8,b8@example.org,Bad Flag,BE,nl,maybe",  # 12
        "",  # 13: a blank line is skipped
        'B9,b9@example.org,"Stray"quote,BE,nl,yes',  # 14
        ",b10@example.org,No Number,BE,nl,yes",  # 15
        "G3,g3@example.org,Good Three,FR,en,0",  # 16
    ]
)


async def test_malformed_file_reports_every_bad_row_with_its_line_and_imports_nothing(database):
    await add_member("existing@example.org", number="E1")

    report = await importer.import_members(MALFORMED + "\n")

    assert not report.ok
    reasons = {error.line: error.reason for error in report.errors}
    assert lines(report) == [3, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]
    assert "name contains a line break, tab or other control character (U+000A)" in reasons[3]
    assert "'not-an-email' is not an email address" in reasons[5]
    assert "country 'NL' is not one of BE, FR" in reasons[6]
    assert "language 'de' is not one of nl, fr, en" in reasons[7]
    assert "name is empty" in reasons[8]
    assert "member_number G1 already on line 2" in reasons[9]
    assert "email g1@example.org already on line 2" in reasons[10]
    assert "expected 6 fields, found 5" in reasons[11]
    assert "shareholder 'maybe' is not yes/no" in reasons[12]
    assert "unreadable row" in reasons[14]
    assert "member_number is empty" in reasons[15]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert list(await register()) == ["E1"]  # not even the good rows G1 and G3


async def test_row_with_several_problems_lists_them_all_on_its_line(database):
    report = await importer.import_members(csv_file("X1,nope,,XX,de,perhaps"))

    assert lines(report) == [2]
    reason = report.errors[0].reason
    for part in ("email", "name is empty", "country", "language", "shareholder"):
        assert part in reason
    assert await Member.count() == 0


async def test_unterminated_quote_is_reported_on_the_line_it_starts(database):
    report = await importer.import_members(
        csv_file("G1,g1@example.org,Good,BE,nl,yes", 'B1,b1@example.org,"Never closed,BE,nl,yes')
    )

    assert lines(report) == [3]
    assert "unreadable row" in report.errors[0].reason
    assert await Member.count() == 0


async def test_email_of_another_existing_member_is_a_bad_row(database):
    await add_member("taken@example.org", number="OLD-1")

    report = await importer.import_members(
        csv_file("NEW-1,new@example.org,New,BE,nl,yes", "NEW-2,Taken@Example.org,Thief,BE,nl,yes")
    )

    assert lines(report) == [3]
    assert "taken@example.org belongs to member OLD-1 already" in report.errors[0].reason
    assert list(await register()) == ["OLD-1"]


async def test_existing_member_keeps_its_own_email_on_reimport(database):
    await add_member("own@example.org", number="OWN-1", name="Own", language="nl")

    report = await importer.import_members(csv_file("OWN-1,own@example.org,Own,BE,fr,yes"))

    assert report.ok
    assert (report.created, report.updated) == (0, 1)
    assert (await register())["OWN-1"]["language"] == "fr"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("member_number,email,name,country,language", "missing column(s): shareholder"),
        (HEADER + ",phone", "unknown column(s): phone"),
        (HEADER + ",email", "repeated column(s): email"),
        ("number,email,name,country,language,shareholder", "missing column(s): member_number"),
        (HEADER + ",", "unknown column(s): (a column without a name)"),
    ],
    ids=["missing", "unknown", "repeated", "misspelt", "trailing-separator"],
)
async def test_header_problem_is_reported_on_line_1_and_imports_nothing(database, header, expected):
    report = await importer.import_members(
        csv_file("A1,a1@example.org,Anna,BE,nl,yes", header=header)
    )

    assert lines(report) == [1]
    assert expected in report.errors[0].reason
    assert "expected: " + HEADER in report.errors[0].reason
    assert await Member.count() == 0


async def test_columns_may_come_in_any_order_and_any_case(database):
    report = await importer.import_members(
        "Shareholder,NAME,email,Country,language,member_number\nno,Anna,a1@example.org,BE,nl,A1\n"
    )

    assert report.ok
    assert fields((await register())["A1"]) == ("a1@example.org", "Anna", "BE", "nl", False)


@pytest.mark.parametrize("text", ["", "   \n\n"], ids=["empty", "blank-lines"])
async def test_empty_file_is_reported_and_imports_nothing(database, text):
    report = await importer.import_members(text)

    assert lines(report) == [1]
    assert "the file is empty" in report.errors[0].reason
    assert await Member.count() == 0


async def test_header_only_file_imports_nothing_without_error(database):
    report = await importer.import_members(HEADER + "\n")

    assert report.ok
    assert (report.rows, report.created) == (0, 0)


async def test_semicolon_separated_file_with_utf8_bom_and_crlf_imports(database):
    text = "\r\n".join(
        [
            HEADER.replace(",", ";"),
            "S1;s1@example.org;Dupont, Marie;FR;fr;oui",
            "S2;s2@example.org;Van den Berghe;BE;nl;nee",
            "S3;s3@example.org;Ödön;BE;nl;ja",
        ]
    )
    data = "\ufeff".encode() + text.encode("utf-8")

    report = await importer.import_members(importer.decode(data))

    assert report.ok, report.errors
    stored = await register()
    assert fields(stored["S1"]) == ("s1@example.org", "Dupont, Marie", "FR", "fr", True)
    assert fields(stored["S2"]) == ("s2@example.org", "Van den Berghe", "BE", "nl", False)
    assert stored["S3"]["name"] == "Ödön"


def test_non_utf8_bytes_give_a_clear_message_with_the_line():
    data = (csv_file("A1,a1@example.org,Anna,BE,nl,yes", "A2,a2@example.org,Zoë,BE,nl,yes")).encode(
        "latin-1"
    )

    with pytest.raises(ValueError) as raised:
        importer.decode(data)

    message = str(raised.value)
    assert "not UTF-8" in message
    assert "line 3" in message
    assert "CSV UTF-8" in message


def test_non_utf8_byte_position_counts_the_bom():
    data = b"\xef\xbb\xbf" + b"abc\xff"

    with pytest.raises(ValueError, match=r"line 1, byte 7\b"):
        importer.decode(data)


async def test_operator_of_be_cannot_import_fr_rows(database):
    report = await importer.import_members(
        csv_file("B1,b1@example.org,Belgian,BE,nl,yes", "F1,f1@example.org,French,FR,fr,yes"),
        allowed_countries=["BE"],
    )

    assert lines(report) == [3]
    assert "not an operator for country FR" in report.errors[0].reason
    assert await Member.count() == 0


async def test_operator_of_be_cannot_change_an_fr_member(database):
    await add_member("f1@example.org", number="F1", name="French", country="FR", language="fr")
    before = await register()

    moved = await importer.import_members(
        csv_file("F1,f1@example.org,French,BE,nl,yes"), allowed_countries=["BE"]
    )
    renamed = await importer.import_members(
        csv_file("B1,b1@example.org,Belgian,BE,nl,yes", "F1,f1@example.org,Renamed,FR,fr,yes"),
        allowed_countries=["BE"],
    )

    assert lines(moved) == [2]
    assert "member F1 belongs to FR, which you do not operate" in moved.errors[0].reason
    assert lines(renamed) == [3]
    assert await register() == before


async def test_import_reports_its_progress(database):
    seen: list[tuple[str, int, int]] = []
    await importer.import_members(
        csv_file("A1,a1@example.org,Anna,BE,nl,yes", "A2,a2@example.org,Bert,BE,nl,no"),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )

    assert seen[0] == ("checked", 2, 2)
    assert seen[-1] == ("written", 2, 2)


# -- 5,000 members --------------------------------------------------------------------------------


def generated(count: int, name: str = "Member") -> list[str]:
    countries = ("BE", "FR")
    languages = ("nl", "fr", "en")
    return [
        f"M{i:05d},m{i:05d}@example.org,{name} {i},{countries[i % 2]},{languages[i % 3]},{i % 2}"
        for i in range(count)
    ]


async def test_5000_members_import_whole_and_a_bad_last_row_keeps_everything_unchanged(database):
    await add_member("outsider@example.org", number="OUT-1")
    first = await importer.import_members(csv_file(*generated(5000)))
    assert first.ok
    assert (first.created, first.updated) == (5000, 0)
    assert first.by_country == {"BE": (2500, 0), "FR": (2500, 0)}
    assert await Member.count() == 5001
    before = await register()

    # Every row renamed, plus a new row at the very end whose email is someone else's: found
    # only against the database, after all 5,000 updates were prepared.
    renamed = generated(5000, name="Renamed")
    bad_last = "M99999,Outsider@example.org,Late,BE,nl,yes"
    report = await importer.import_members(csv_file(*renamed, bad_last))

    assert lines(report) == [5002]
    assert "belongs to member OUT-1 already" in report.errors[0].reason
    assert (report.created, report.updated) == (0, 0)
    assert await register() == before

    # Without the bad row the same file updates them all.
    fixed = await importer.import_members(csv_file(*renamed))
    assert fixed.ok
    assert (fixed.created, fixed.updated, fixed.unchanged) == (0, 5000, 0)
    assert (await register())["M04999"]["name"] == "Renamed 4999"
    assert await Member.count() == 5001


async def test_5000_new_members_with_a_bad_last_row_import_nothing(database):
    rows = generated(5000)
    rows[-1] = rows[-1].replace("@example.org", "@")

    report = await importer.import_members(csv_file(*rows))

    assert lines(report) == [5001]
    assert await Member.count() == 0


# -- the page -----------------------------------------------------------------------------------

GOOD = csv_file("P1,p1@example.org,Page One,BE,nl,yes", "P2,p2@example.org,Page Two,BE,fr,no")
BAD = csv_file(
    "P1,p1@example.org,Page One,BE,nl,yes",
    "P2,not-an-email,Page Two,BE,fr,no",
    "P3,p3@example.org,Page Three,XX,fr,no",
)


def upload(text: str | bytes, csrf: str | None) -> dict[str, Any]:
    data = text.encode() if isinstance(text, str) else text
    return {
        "files": {"file": ("members.csv", data, "text/csv")},
        "data": {"_csrf_token": csrf} if csrf else {},
    }


async def signed_in(client: AsyncTestClient[Any], roles: tuple[tuple[str, str], ...]) -> str:
    member_id = await add_member("operator@example.org", number="OP-1", roles=roles)
    await sign_in(client, member_id)
    return await csrf_token(client)


async def test_import_page_asks_an_anonymous_visitor_to_sign_in(client):
    csrf = await csrf_token(client)

    page = await client.get("/members/import")
    posted = await client.post("/members/import", **upload(GOOD, csrf))

    assert page.status_code == 401
    assert posted.status_code == 401
    assert await Member.count() == 0


async def test_import_page_is_forbidden_to_a_member_who_is_not_an_operator(client):
    csrf = await signed_in(client, roles=(("facilitator", ""),))

    page = await client.get("/members/import")
    posted = await client.post("/members/import", **upload(GOOD, csrf))

    assert page.status_code == 403
    assert posted.status_code == 403
    assert await Member.count() == 1  # only the signed-in member


async def test_operator_uploads_a_good_file_and_sees_the_counts(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    form = await client.get("/members/import")
    preview = await client.post("/members/import", **upload(GOOD, csrf))
    previewed = set(await register())
    # The upload shows a preview (a partial import, said so); confirming it imports.
    import_id = int(str(preview.url).rstrip("/").split("/")[-1])
    response = await client.post(f"/members/import/{import_id}/confirm", data={"_csrf_token": csrf})

    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    assert preview.status_code == 200
    assert "Partial import: additions and updates only" in preview.text
    assert previewed == {"OP-1"}
    assert response.status_code == 200
    assert "Import done: 2 new, 0 updated, 0 unchanged." in response.text
    assert {"P1", "P2"} <= set(await register())


async def test_operator_uploads_a_bad_file_and_sees_every_bad_line_with_the_form(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    response = await client.post("/members/import", **upload(BAD, csrf))

    assert response.status_code == 400
    assert "Nothing was imported: 2 rows need correcting." in response.text
    assert '<form method="post" action="/members/import"' in response.text
    assert "<td>3</td><td>email &#39;not-an-email&#39; is not an email address</td>" in (
        response.text
    )
    assert "<td>4</td><td>country &#39;XX&#39; is not one of BE, FR</td>" in response.text
    assert list(await register()) == ["OP-1"]


async def test_operator_of_be_uploading_fr_rows_sees_them_refused(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    response = await client.post(
        "/members/import", **upload(csv_file("F1,f1@example.org,French,FR,fr,yes"), csrf)
    )

    assert response.status_code == 400
    assert "<td>2</td><td>you are not an operator for country FR</td>" in response.text
    assert list(await register()) == ["OP-1"]


async def test_import_page_says_so_when_the_file_is_not_utf8(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    response = await client.post(
        "/members/import", **upload(GOOD.replace("Page", "Pägé").encode("latin-1"), csrf)
    )

    assert response.status_code == 400
    assert "not UTF-8" in response.text
    assert '<form method="post" action="/members/import"' in response.text
    assert list(await register()) == ["OP-1"]


async def test_import_post_without_a_csrf_token_is_refused_and_changes_nothing(client):
    await signed_in(client, roles=OPERATOR_BE)

    page = await client.post("/members/import", **upload(GOOD, None))
    forged = await client.post("/members/import", **upload(GOOD, "0" * 128))
    api = await client.post(
        "/api/members/import", content=GOOD.encode(), headers={"content-type": "text/csv"}
    )

    assert page.status_code == forged.status_code == api.status_code == 403
    assert "CSRF" in page.text
    assert "CSRF" in api.json()["detail"]
    assert list(await register()) == ["OP-1"]


# -- the JSON API -------------------------------------------------------------------------------


async def post_csv(client: AsyncTestClient[Any], csrf: str, text: str | bytes) -> Any:
    return await client.post(
        "/api/members/import",
        content=text.encode() if isinstance(text, str) else text,
        headers={"content-type": "text/csv", "x-csrftoken": csrf},
    )


async def test_api_import_returns_the_counts(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    first = await post_csv(client, csrf, GOOD)
    again = await post_csv(client, csrf, GOOD)

    assert first.status_code == 200
    assert first.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "errors": []}
    assert again.json() == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "errors": []}


async def test_api_import_of_a_bad_file_is_a_problem_listing_every_bad_line(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    response = await post_csv(client, csrf, BAD)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400
    assert "2 rows need correcting" in body["detail"]
    assert body["errors"] == [
        {"line": 3, "reason": "email 'not-an-email' is not an email address"},
        {"line": 4, "reason": "country 'XX' is not one of BE, FR"},
    ]
    assert list(await register()) == ["OP-1"]


async def test_api_import_of_non_utf8_bytes_is_a_problem(client):
    csrf = await signed_in(client, roles=OPERATOR_BE)

    response = await post_csv(client, csrf, GOOD.replace("Page", "Pägé").encode("latin-1"))

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "not UTF-8" in response.json()["detail"]


async def test_api_import_is_forbidden_to_non_operators_and_anonymous_visitors(client):
    anonymous = await post_csv(client, await csrf_token(client), GOOD)
    csrf = await signed_in(client, roles=())
    member = await post_csv(client, csrf, GOOD)

    assert anonymous.status_code == 401
    assert member.status_code == 403
    assert member.headers["content-type"].startswith("application/problem+json")
    assert list(await register()) == ["OP-1"]


async def test_api_lists_the_expected_columns(client):
    response = await client.get("/api/members/import/columns")

    assert response.json() == HEADER.split(",")


# -- the on_event hook --------------------------------------------------------------------------


class Recorder:
    """A test plugin that keeps every event it hears."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def on_event(self, event: Any) -> None:
        self.events.append(event)


@pytest.fixture
async def recorded(database):
    """A client whose app has the Recorder plugin enabled for BE and FR."""
    recorder = Recorder()
    settings = msgspec.structs.replace(
        database,
        countries={
            code: Country(name=country.name, plugins=[*country.plugins, "recorder"])
            for code, country in database.countries.items()
        },
    )
    registry = build_registry(settings, extra={"recorder": recorder})
    app = create_app(settings, registry=registry, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        yield client, recorder


async def test_import_tells_each_country_s_plugins_what_changed(recorded):
    client, recorder = recorded
    operator_id = await add_member("operator@example.org", number="OP-1", roles=OPERATOR_BOTH)
    await sign_in(client, operator_id)
    csrf = await csrf_token(client)
    await post_csv(
        client,
        csrf,
        csv_file(
            "B1,b1@example.org,One,BE,nl,yes",
            "B2,b2@example.org,Two,BE,nl,yes",
            "F1,f1@example.org,Three,FR,fr,yes",
        ),
    )
    first = sorted(recorder.events, key=lambda e: e.country)
    recorder.events.clear()

    await post_csv(
        client,
        csrf,
        csv_file(
            "B1,b1@example.org,One,BE,nl,yes",
            "B2,b2@example.org,Two Renamed,BE,nl,yes",
            "F1,f1@example.org,Three,FR,fr,yes",
        ),
    )
    second = list(recorder.events)
    recorder.events.clear()

    await post_csv(client, csrf, BAD)  # refused: nothing changed, nothing told

    assert first == [
        MembersImported(country="BE", created=2, updated=0, actor_id=operator_id),
        MembersImported(country="FR", created=1, updated=0, actor_id=operator_id),
    ]
    assert second == [MembersImported(country="BE", created=0, updated=1, actor_id=operator_id)]
    assert recorder.events == []


async def test_import_event_reaches_only_the_plugins_of_its_country(database):
    recorder = Recorder()
    settings = msgspec.structs.replace(
        database,
        countries={
            "BE": Country(name="Belgium", plugins=["track_be"]),
            "FR": Country(name="France", plugins=["track_fr", "recorder"]),
        },
    )
    registry = build_registry(settings, extra={"recorder": recorder})
    app = create_app(settings, registry=registry, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        operator_id = await add_member("operator@example.org", number="OP-1", roles=OPERATOR_BOTH)
        await sign_in(client, operator_id)
        response = await post_csv(
            client,
            await csrf_token(client),
            csv_file("B1,b1@example.org,One,BE,nl,yes", "F1,f1@example.org,Two,FR,fr,yes"),
        )

    assert response.status_code == 200
    assert recorder.events == [
        MembersImported(country="FR", created=1, updated=0, actor_id=operator_id)
    ]


async def test_two_simultaneous_imports_of_the_same_file_create_each_member_once(database):
    import asyncio

    from core.errors import Conflict

    text = "member_number,email,name,country,language,shareholder\n" + "".join(
        f"C{i},c{i}@example.org,Member {i},BE,nl,yes\n" for i in range(200)
    )

    async def attempt():
        try:
            return await importer.import_members(text)
        except Conflict as conflict:
            return conflict

    results = await asyncio.gather(attempt(), attempt())
    assert await Member.count() == 200
    created = [r.created for r in results if not isinstance(r, Conflict)]
    assert sum(created) == 200  # one import created them; the other found them or was refused
    for r in results:
        if isinstance(r, Conflict):
            assert "try again" in r.message


# -- email changes: no one signs in as another member ---------------------------------------------
#
# The takeover the review found: an operator changes a member's email through the import, asks
# a sign-in link for the new address, votes as the member, and restores the address.

BOARD = (("board", ""),)
TELLER_BE = (("teller", "BE"),)


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


async def me_with(client: AsyncTestClient[Any], session: str) -> int:
    """The status of ``GET /api/me`` sent with this session cookie and no other."""
    jar = client.cookies
    client.cookies = httpx.Cookies({"sip_session": session})
    try:
        return (await client.get("/api/me")).status_code
    finally:
        client.cookies = jar


async def audited(action: str) -> list[dict[str, Any]]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return await audit.as_shown(rows)  # personal values (numbers, addresses) merged back


async def role_holders() -> dict[str, int]:
    return {
        "B-1": await add_member("board@example.org", number="B-1", name="Bea Board", roles=BOARD),
        "O-2": await add_member("op2@example.org", number="O-2", name="Otto Op", roles=OPERATOR_BE),
        "T-1": await add_member("teller@example.org", number="T-1", name="Tess", roles=TELLER_BE),
    }


async def test_an_operator_cannot_change_the_email_of_a_board_member_operator_or_teller(client):
    holders = await role_holders()
    await add_member("plain@example.org", number="P-1", name="Plain")
    csrf = await signed_in(client, roles=OPERATOR_BE)
    sessions = {n: await auth.start_session(member_id, 14) for n, member_id in holders.items()}
    before = await register()
    takeover = csv_file(
        "B-1,mine1@example.org,Bea Board,BE,en,yes",
        "O-2,mine2@example.org,Otto Op,BE,en,yes",
        "T-1,mine3@example.org,Tess,BE,en,yes",
        "OP-1,operator-new@example.org,A Member,BE,en,yes",  # their own address too
        "P-1,plain@example.org,Plain Renamed,BE,en,yes",  # a good row: all or nothing
    )

    response = await post_csv(client, csrf, takeover)
    page = await client.post("/members/import", **upload(takeover, csrf))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": 2,
            "reason": "member B-1 holds a role (board): only the board can change their "
            "email address",
        },
        {
            "line": 3,
            "reason": "member O-2 holds a role (operator BE): only the board can change "
            "their email address",
        },
        {
            "line": 4,
            "reason": "member T-1 holds a role (teller BE): only the board can change their "
            "email address",
        },
        {
            "line": 5,
            "reason": "member OP-1 holds a role (operator BE): only the board can change "
            "their email address",
        },
    ]
    assert page.status_code == 400
    assert "only the board can change their email address" in page.text
    assert await register() == before
    assert await audited("member.email.change") == []
    assert await audited("member.import") == []
    for session in sessions.values():
        assert await me_with(client, session) == 200
    # The sign-in link the operator then asks for the new address goes nowhere.
    await client.post(
        "/api/sign-in/link", json={"email": "mine1@example.org"}, headers={"x-csrftoken": csrf}
    )
    assert await SignInToken.count().where(SignInToken.member.is_in(list(holders.values()))) == 0


async def test_an_operator_changing_a_members_email_ends_their_sign_ins_notifies_and_audits(
    client,
):
    victim = await add_member("victim@example.org", number="V-1", name="Vic Tim", language="fr")
    first = await auth.start_session(victim, 14)  # two browsers, say
    second = await auth.start_session(victim, 14)
    pending = await auth.create_sign_in_link(victim, 30)
    csrf = await signed_in(client, roles=OPERATOR_BE)
    operator = (await register())["OP-1"]["id"]
    assert await me_with(client, first) == await me_with(client, second) == 200

    response = await post_csv(client, csrf, csv_file("V-1,new@example.org,Vic Tim,BE,fr,yes"))

    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1
    assert (await register())["V-1"]["email"] == "new@example.org"
    # Both of the member's sessions are over; the operator's own goes on.
    assert await me_with(client, first) == 401
    assert await me_with(client, second) == 401
    assert (await client.get("/api/me")).json()["id"] == operator
    # The link sent to the old address before the change no longer signs in.
    used = await client.post(f"/api/sign-in/link/{pending}", headers={"x-csrftoken": csrf})
    assert used.status_code == 404
    assert await WebSession.count().where(WebSession.member == victim) == 0
    # The notice is in the outbox, for the member, addressed to the old address.
    [event] = await NotificationEvent.select().where(
        NotificationEvent.event_type == "email_changed"
    )
    assert json.loads(event["payload"]) == {
        "type": "email_changed",
        "country": "BE",
        "member_id": victim,
        "old_email": "victim@example.org",
        "change": json.loads(event["payload"])["change"],
    }
    messages = await OutboxMessage.select().where(OutboxMessage.event == event["id"])
    assert [(m["member"], m["channel"]) for m in messages] == [(victim, "in_app")]
    # The audit log names the member and both addresses, and who did it.
    [change] = await audited("member.email.change")
    assert (change["actor"], change["role"], change["country"]) == (operator, "operator", "BE")
    assert (change["object_type"], change["object_id"]) == ("member", str(victim))
    assert change["details"] == {
        "member_number": "V-1",
        "old": "victim@example.org",
        "new": "new@example.org",
    }
    assert [e["details"] for e in await audited("member.import")] == [
        {"created": 0, "updated": 1, "changed": {"V-1": ["email"]}}
    ]


async def test_the_notice_is_emailed_to_the_old_address_and_not_the_new_one(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    registry = build_registry(settings)
    victim = await add_member("old@example.org", number="V-1", name="Vic Tim", language="en")
    operator = await load_member(await add_member("op@example.org", roles=OPERATOR_BE))

    report = await importer.import_members(
        csv_file("V-1,new@example.org,Vic Tim,BE,en,yes"),
        allowed_countries=["BE"],
        actor=operator,
        registry=registry,
        settings=settings,
    )
    done = await Relay(registry, settings).drain()

    assert report.ok and report.updated == 1
    assert done.sent == 2  # the email and the in-app notice
    [message] = smtp.received()
    assert smtp.envelopes[0][1] == ["old@example.org"]
    assert message["To"].addresses[0].addr_spec == "old@example.org"
    assert message["Subject"] == "The email address of your account was changed"
    assert "old@example.org" in message.get_body(("plain",)).get_content()
    assert "new@example.org" not in message.as_string()
    assert await Notification.count().where(Notification.member == victim) == 1


async def test_the_board_may_change_a_role_holders_email_and_it_is_audited(client):
    holders = await role_holders()
    board_operator = await add_member(
        "chair@example.org", number="CH-1", roles=(*BOARD, *OPERATOR_BE)
    )
    sessions = {n: await auth.start_session(member_id, 14) for n, member_id in holders.items()}
    await sign_in(client, board_operator)
    csrf = await csrf_token(client)

    response = await post_csv(
        client,
        csrf,
        csv_file(
            "O-2,otto@example.org,Otto Op,BE,en,yes",
            "T-1,tess@example.org,Tess,BE,en,yes",
        ),
    )

    assert response.status_code == 200, response.text
    stored = await register()
    assert (stored["O-2"]["email"], stored["T-1"]["email"]) == (
        "otto@example.org",
        "tess@example.org",
    )
    assert await me_with(client, sessions["O-2"]) == 401
    assert await me_with(client, sessions["T-1"]) == 401
    assert await me_with(client, sessions["B-1"]) == 200  # unchanged: still signed in
    changes = await audited("member.email.change")
    assert [(c["actor"], c["role"], c["details"]) for c in changes] == [
        (
            board_operator,
            "board",
            {"member_number": "O-2", "old": "op2@example.org", "new": "otto@example.org"},
        ),
        (
            board_operator,
            "board",
            {"member_number": "T-1", "old": "teller@example.org", "new": "tess@example.org"},
        ),
    ]


async def test_the_command_line_may_change_a_board_members_email(database):
    holders = await role_holders()
    session = await auth.start_session(holders["B-1"], 14)

    report = await importer.import_members(
        csv_file("B-1,bea@example.org,Bea Board,BE,en,yes"), actor=audit.CLI
    )

    assert report.ok and report.updated == 1
    assert (await register())["B-1"]["email"] == "bea@example.org"
    assert await auth.session_member(session) is None
    [change] = await audited("member.email.change")
    assert (change["actor"], change["role"], change["details"]) == (
        None,
        "cli",
        {"member_number": "B-1", "old": "board@example.org", "new": "bea@example.org"},
    )


async def test_an_import_that_changes_no_email_leaves_sessions_and_links_alone(database):
    member_id = await add_member("same@example.org", number="S-1", name="Same")
    session = await auth.start_session(member_id, 14)
    link = await auth.create_sign_in_link(member_id, 30)

    report = await importer.import_members(
        csv_file("S-1,SAME@example.org,Renamed,BE,nl,no"), actor=audit.CLI
    )

    assert report.ok and report.updated == 1
    assert await auth.session_member(session) is not None
    assert await auth.link_status(link) == "valid"
    assert await audited("member.email.change") == []
