"""The member import: the CSV check, the all-or-nothing write, the page, the JSON API, the hook.

Every test runs on SQLite and on PostgreSQL (the ``database`` and ``client`` fixtures).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core import db, hookimpl
from core.app import create_app
from core.config import Country
from core.events import MembersImported
from core.members import importer
from core.members.tables import Member
from core.plugins import build_registry
from tests.conftest import add_member, csrf_token, sign_in

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
        'G2,g2@example.org,"Two-line',  # 3
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
    assert lines(report) == [5, 6, 7, 8, 9, 10, 11, 12, 14, 15]
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
    assert list(await register()) == ["E1"]  # not even the good rows G1, G2, G3


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
    response = await client.post("/members/import", **upload(GOOD, csrf))

    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
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
