"""Register sync: a full register is previewed (new, changed, leaving, returning, roles
affected), then confirmed once or cancelled; members it no longer lists leave (no sign-in, no
vote), returning ones are reactivated; a partial import says so and nobody leaves.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from core.audit.tables import AuditEntry
from core.auth import services as auth
from core.members import importer
from core.members.services import load_member
from core.members.tables import Member, RegisterImport
from tests.conftest import add_member, csrf_token, sign_in

HEADER = "member_number,email,name,country,language,shareholder"
OPERATOR = ("op@example.org", "OP-1", "Olga Operator")


def csv_file(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


FILE_ROWS = [
    f"OP-1,{OPERATOR[0]},{OPERATOR[2]},BE,en,yes",
    "A-1,a@example.org,Anna,BE,nl,yes",  # unchanged
    "B-1,b@example.org,Bert Renamed,BE,nl,yes",  # name changed
    "D-1,d@example.org,Dirk,BE,nl,yes",  # had left: returns
    "N-1,n1@example.org,New One,BE,fr,yes",  # new
    "N-2,n2@example.org,New Two,BE,fr,no",  # new
]  # C-1 (BE) and T-1 (BE, a teller) are absent: they leave; F-1 (FR) is not BE's to sweep


async def setup_register() -> dict[str, int]:
    ids = {
        "OP-1": await add_member(
            OPERATOR[0], number="OP-1", name=OPERATOR[2], roles=(("operator", "BE"),)
        ),
        "A-1": await add_member("a@example.org", number="A-1", name="Anna", language="nl"),
        "B-1": await add_member("b@example.org", number="B-1", name="Bert", language="nl"),
        "C-1": await add_member("c@example.org", number="C-1", name="Carla", language="nl"),
        "D-1": await add_member("d@example.org", number="D-1", name="Dirk", language="nl"),
        "T-1": await add_member(
            "t@example.org", number="T-1", name="Tess", roles=(("teller", "BE"),)
        ),
        "F-1": await add_member("f@example.org", number="F-1", name="Fleur", country="FR"),
    }
    await Member.raw("UPDATE member SET left_at = {} WHERE member_number = {}", _now(), "D-1")
    return ids


def _now() -> Any:
    from core import clock

    return clock.now()


def marks(n: int) -> str:
    return ", ".join("{}" for _ in range(n))


async def expected_by_sql(rows: list[str], countries: list[str]) -> dict[str, int]:
    """The figures of a full import of ``rows`` by an operator of ``countries``, computed by
    the database from the member table."""
    parsed = [r.split(",") for r in rows]
    numbers = [p[0] for p in parsed]
    known = await Member.raw(
        f"SELECT COUNT(*) AS n FROM member WHERE member_number IN ({marks(len(numbers))})",
        *numbers,
    )
    changed = 0
    for number, email, name, country, language, share in parsed:
        found = await Member.raw(
            "SELECT COUNT(*) AS n FROM member WHERE member_number = {} AND NOT (email = {} "
            "AND name = {} AND country = {} AND language = {} AND shareholder = {})",
            number,
            email,
            name,
            country,
            language,
            share == "yes",
        )
        changed += int(found[0]["n"])
    left = await Member.raw(
        f"SELECT COUNT(*) AS n FROM member WHERE country IN ({marks(len(countries))}) "
        f"AND left_at IS NULL AND erased_at IS NULL "
        f"AND member_number NOT IN ({marks(len(numbers))})",
        *countries,
        *numbers,
    )
    returning = await Member.raw(
        f"SELECT COUNT(*) AS n FROM member WHERE left_at IS NOT NULL "
        f"AND member_number IN ({marks(len(numbers))})",
        *numbers,
    )
    return {
        "new": len(numbers) - int(known[0]["n"]),
        "changed": changed,
        "unchanged": int(known[0]["n"]) - changed,
        "left": int(left[0]["n"]),
        "returning": int(returning[0]["n"]),
    }


async def snapshot() -> list[tuple[Any, ...]]:
    rows = await Member.select(
        Member.member_number, Member.email, Member.name, Member.left_at
    ).order_by(Member.member_number)
    return [tuple(r.values()) for r in rows]


async def operator_client(client: AsyncTestClient[Any], ids: dict[str, int]) -> str:
    await sign_in(client, ids["OP-1"])
    return await csrf_token(client)


async def post_csv(client: AsyncTestClient[Any], csrf: str, text: str, query: str) -> Any:
    return await client.post(
        f"/api/members/import?{query}",
        content=text.encode(),
        headers={"content-type": "text/csv", "x-csrftoken": csrf},
    )


async def test_full_register_preview_equals_sql_then_confirm_applies_it_once(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)
    expected = await expected_by_sql(FILE_ROWS, ["BE"])
    before = await snapshot()

    preview = await post_csv(client, csrf, csv_file(*FILE_ROWS), "full=true")

    assert preview.status_code == 201, preview.text
    body = preview.json()
    figures = {k: body[k] for k in ("new", "changed", "unchanged", "left", "returning")}
    assert figures == expected
    # OP-1, A-1 and D-1 are unchanged (D-1 returns with the same fields)
    assert expected == {"new": 2, "changed": 1, "unchanged": 3, "left": 2, "returning": 1}
    assert body["full"] is True and body["state"] == "pending"
    assert "Full register" in body["mode"]
    assert body["changed_members"] == [
        {"member_number": "B-1", "name": "Bert Renamed", "fields": ["name"]}
    ]
    assert {m["member_number"] for m in body["leaving_members"]} == {"C-1", "T-1"}
    assert body["roles_affected"] == [
        {"member_number": "T-1", "name": "Tess", "roles": [["teller", "BE"]], "why": "leaves"}
    ]
    assert await snapshot() == before  # a preview writes nothing to the register

    confirmed = await client.post(
        f"/api/members/import/{body['id']}/confirm", headers={"x-csrftoken": csrf}
    )
    assert confirmed.status_code == 200, confirmed.text
    after = {r["member_number"]: r for r in await Member.select()}
    assert after["C-1"]["left_at"] is not None and after["T-1"]["left_at"] is not None
    assert after["D-1"]["left_at"] is None  # returned
    assert after["F-1"]["left_at"] is None  # another country's member is not BE's to sweep
    assert after["B-1"]["name"] == "Bert Renamed" and {"N-1", "N-2"} <= set(after)
    applied = await snapshot()

    again = await client.post(
        f"/api/members/import/{body['id']}/confirm", headers={"x-csrftoken": csrf}
    )
    cancel = await client.post(
        f"/api/members/import/{body['id']}/cancel", headers={"x-csrftoken": csrf}
    )

    assert again.status_code == cancel.status_code == 409
    assert again.json()["detail"] == "This import was confirmed already: nothing was changed again."
    assert await snapshot() == applied
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action)]
    assert actions.count("member.import.confirm") == 1
    assert {"member.import.preview", "member.left", "member.returned"} <= set(actions)


async def test_a_cancelled_preview_cannot_be_confirmed_and_changes_nothing(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)
    before = await snapshot()
    preview = (await post_csv(client, csrf, csv_file(*FILE_ROWS), "full=true")).json()

    cancelled = await client.post(
        f"/api/members/import/{preview['id']}/cancel", headers={"x-csrftoken": csrf}
    )
    confirmed = await client.post(
        f"/api/members/import/{preview['id']}/confirm", headers={"x-csrftoken": csrf}
    )

    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert confirmed.status_code == 409
    assert "cancelled" in confirmed.json()["detail"]
    assert await snapshot() == before


async def test_a_preview_is_refused_when_the_register_changed_since(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)
    preview = (await post_csv(client, csrf, csv_file(*FILE_ROWS), "full=true")).json()
    await add_member("late@example.org", number="L-1")  # would leave too: the figures differ
    before = await snapshot()

    confirmed = await client.post(
        f"/api/members/import/{preview['id']}/confirm", headers={"x-csrftoken": csrf}
    )

    assert confirmed.status_code == 409
    assert "changed since this preview" in confirmed.json()["detail"]
    assert await snapshot() == before
    state = await RegisterImport.select(RegisterImport.state).first()
    assert state["state"] == "pending"


async def test_the_page_previews_a_full_register_and_confirms_it(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)
    data = csv_file(*FILE_ROWS).encode()

    page = await client.post(
        "/members/import",
        files={"file": ("register.csv", data, "text/csv")},
        data={"_csrf_token": csrf, "mode": "full"},
    )

    assert page.status_code == 200
    assert "Full register: members of BE it does not list are marked as having left." in (page.text)
    assert '<dd id="figure-left">2</dd>' in page.text
    assert '<dd id="figure-new">2</dd>' in page.text
    assert "<td>Bert Renamed</td><td>name</td>" in page.text
    assert 'id="roles-affected"' in page.text and "<td>Tess</td>" in page.text
    import_id = int(str(page.url).rstrip("/").split("/")[-1])
    assert (await Member.select(Member.left_at).where(Member.id == ids["C-1"]).first())[
        "left_at"
    ] is None

    done = await client.post(f"/members/import/{import_id}/confirm", data={"_csrf_token": csrf})
    twice = await client.post(f"/members/import/{import_id}/confirm", data={"_csrf_token": csrf})

    assert done.status_code == 200
    assert "Import done: 2 new, 1 updated, 3 unchanged." in done.text
    assert "2 members marked as having left." in done.text
    assert twice.status_code == 409
    assert "This import was confirmed already: nothing was changed again." in twice.text


async def test_a_partial_import_says_so_and_nobody_leaves(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)

    preview = await post_csv(client, csrf, csv_file(FILE_ROWS[4]), "preview=true")
    body = preview.json()
    confirmed = await client.post(
        f"/api/members/import/{body['id']}/confirm", headers={"x-csrftoken": csrf}
    )

    assert preview.status_code == 201
    assert body["full"] is False and body["left"] == 0
    assert body["mode"].startswith("Partial import: additions and updates only")
    assert confirmed.status_code == 200
    assert await Member.count().where(Member.left_at.is_not_null()) == 1  # D-1, as before


async def test_a_member_who_left_cannot_sign_in_and_a_returning_one_can(client):
    ids = await setup_register()
    carla = await load_member(ids["C-1"])
    await auth.set_password(ids["C-1"], "correct horse battery", "correct horse battery")
    session = await auth.start_session(ids["C-1"], 14)
    old_link = await auth.create_sign_in_link(ids["C-1"], 30)
    report, preview = await importer.preview_import(
        csv_file(*FILE_ROWS), full=True, allowed_countries=["BE"]
    )
    assert preview is not None
    await importer.confirm_import(preview.id)

    assert await auth.session_member(session) is None
    assert await auth.issue_sign_in_link(carla, 30, 5, 60) is None
    assert await auth.check_password("c@example.org", "correct horse battery") is None
    csrf = await csrf_token(client)
    redeemed = await client.post(f"/api/sign-in/link/{old_link}", headers={"x-csrftoken": csrf})
    assert redeemed.status_code == 404
    dirk = await load_member(ids["D-1"])
    assert await auth.issue_sign_in_link(dirk, 30, 5, 60) is not None


async def test_an_empty_full_register_is_refused(client):
    ids = await setup_register()
    csrf = await operator_client(client, ids)
    before = await snapshot()

    response = await post_csv(client, csrf, csv_file(), "full=true")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"line": 1, "reason": "the file lists no member: a full register cannot be empty"}
    ]
    assert await snapshot() == before and await RegisterImport.count() == 0
