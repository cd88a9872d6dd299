"""Roles from the web (``/operator/roles``, ``/api/roles``) and the command line: the board gives
and takes the board and operator roles, operators the tellers and facilitators of their own
countries; the last board member and a country's last operator keep their role; every change
is audited."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from core import clock
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.errors import Conflict
from core.members.services import load_member, revoke_member_role
from core.members.tables import Member, MemberRole
from tests.conftest import SECRET, add_member, csrf_token, sign_in
from tests.test_cli import CONFIG, GOOD, postgres_fetch, postgres_schema_url  # noqa: F401

Roles = list[tuple[str, str, str]]


async def roles() -> Roles:
    """Every (member number, role, country) held, sorted."""
    rows = await MemberRole.select(
        MemberRole.member.member_number, MemberRole.role, MemberRole.country
    )
    return sorted((r["member.member_number"], r["role"], r["country"]) for r in rows)


async def post_form(client: Any, path: str, **fields: str) -> Any:
    return await client.post(path, data={**fields, "_csrf_token": await csrf_token(client)})


async def post_json(client: Any, path: str, body: dict[str, str]) -> Any:
    return await client.post(path, json=body, headers={"x-csrftoken": await csrf_token(client)})


async def role_entries() -> list[dict[str, Any]]:
    return await audit.as_shown(
        await AuditEntry.select()
        .where(AuditEntry.action.is_in(["member.role.grant", "member.role.revoke"]))
        .order_by(AuditEntry.seq)
    )


async def test_the_board_makes_an_operator_of_france_from_the_page_and_it_is_audited(client):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    target = await add_member("zoe@example.org", number="F-1", name="Zoé Laurent", country="FR")
    await sign_in(client, board)

    shown = await client.get("/operator/roles")
    assert shown.status_code == 200
    assert 'action="/operator/roles/grant"' in shown.text
    assert 'id="roles-operator-FR"' in shown.text and 'id="roles-board-all"' in shown.text
    assert 'href="/operator/roles"' in shown.text  # in the menu

    done = await post_form(
        client, "/operator/roles/grant", member="zoe@example.org", role="operator", country="FR"
    )

    assert done.status_code == 200, done.text
    assert "Zoé Laurent (F-1) now holds the role operator (FR)." in done.text
    assert await roles() == [("B-1", "board", ""), ("F-1", "operator", "FR")]
    (entry,) = await role_entries()
    assert (entry["action"], entry["actor"], entry["role"]) == ("member.role.grant", board, "board")
    assert (entry["country"], entry["object_type"], entry["object_id"]) == (
        "FR",
        "member",
        str(target),
    )
    assert entry["details"] == {"member_number": "F-1", "role": "operator"}
    assert entry["at"] is not None

    listed = (await client.get("/api/roles")).json()
    (operators_fr,) = [
        g for g in listed["groups"] if g["role"] == "operator" and g["country"] == "FR"
    ]
    assert [h["member_number"] for h in operators_fr["holders"]] == ["F-1"]
    assert [c["role"] for c in listed["grantable"]] == [
        "board",
        "operator",
    ]  # no teller: not an operator


async def test_an_operator_of_belgium_gives_belgian_tellers_and_nothing_in_france(client):
    operator = await add_member("op@example.org", number="O-1", roles=(("operator", "BE"),))
    await add_member("ann@example.org", number="BE-1", name="Ann")
    await add_member("fred@example.org", number="FR-1", country="FR", roles=(("teller", "FR"),))
    await sign_in(client, operator)

    shown = await client.get("/operator/roles")
    assert 'id="roles-teller-BE"' in shown.text and 'id="roles-facilitator-BE"' in shown.text
    assert "FR-1" not in shown.text and 'id="roles-teller-FR"' not in shown.text
    assert 'id="roles-operator-BE"' not in shown.text  # the board's to give

    granted = await post_form(
        client, "/operator/roles/grant", member="BE-1", role="teller", country="BE"
    )
    assert granted.status_code == 200, granted.text
    assert "Ann (BE-1) now holds the role teller (BE)." in granted.text
    before = await roles()
    assert ("BE-1", "teller", "BE") in before

    refusals = [
        # a teller of France, an operator, anything for a French member, France's roles
        ("/operator/roles/grant", {"member": "BE-1", "role": "teller", "country": "FR"}),
        ("/operator/roles/grant", {"member": "BE-1", "role": "operator", "country": "BE"}),
        ("/operator/roles/grant", {"member": "BE-1", "role": "board", "country": ""}),
        ("/operator/roles/grant", {"member": "FR-1", "role": "facilitator", "country": "BE"}),
        ("/operator/roles/grant", {"member": "FR-1", "role": "teller", "country": "BE"}),
        ("/operator/roles/revoke", {"member": "FR-1", "role": "teller", "country": "FR"}),
        ("/operator/roles/revoke", {"member": "O-1", "role": "operator", "country": "BE"}),
    ]
    for path, fields in refusals:
        page = await post_form(client, path, **fields)
        assert page.status_code == 403, (path, fields, page.text)
        assert 'role="alert"' in page.text
        api = "/api/roles" if path.endswith("grant") else "/api/roles/revoke"
        answer = await post_json(client, api, fields)
        assert answer.status_code == 403, (api, fields, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await roles() == before  # nothing changed
    assert len(await role_entries()) == 1  # the one teller given

    french = await post_json(
        client, "/api/roles", {"member": "fred@example.org", "role": "facilitator"}
    )
    assert french.json()["detail"] == "You manage the roles of the members of BE only."


async def test_an_operator_takes_back_a_facilitator_role_of_their_country(client):
    operator = await add_member("op@example.org", number="O-1", roles=(("operator", "BE"),))
    await add_member("fa@example.org", number="BE-2", roles=(("facilitator", ""),))
    await sign_in(client, operator)

    answer = await post_json(client, "/api/roles/revoke", {"member": "BE-2", "role": "facilitator"})

    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] is True
    assert await roles() == [("O-1", "operator", "BE")]
    (entry,) = await role_entries()
    assert (entry["action"], entry["actor"], entry["country"]) == (
        "member.role.revoke",
        operator,
        "BE",
    )


async def test_a_member_without_a_role_is_refused_and_nothing_changes(client):
    plain = await add_member("plain@example.org", number="P-1")
    await add_member("other@example.org", number="P-2")
    await sign_in(client, plain)

    assert (await client.get("/operator/roles")).status_code == 403
    listed = await client.get("/api/roles")
    assert listed.status_code == 403
    assert listed.json()["detail"] == "Only operators and board members manage roles."
    page = await post_form(client, "/operator/roles/grant", member="P-1", role="facilitator")
    assert page.status_code == 403
    api = await post_json(
        client, "/api/roles", {"member": "P-2", "role": "teller", "country": "BE"}
    )
    assert api.status_code == 403
    assert 'href="/operator/roles"' not in (await client.get("/account")).text
    assert await roles() == []


async def test_the_last_board_member_keeps_the_role_even_asking_themself(client):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    await sign_in(client, board)

    page = await post_form(client, "/operator/roles/revoke", member="B-1", role="board")
    api = await post_json(
        client, "/api/roles/revoke", {"member": "board@example.org", "role": "board"}
    )

    assert page.status_code == 409
    assert "A Member (B-1) is the last board member" in page.text
    assert api.status_code == 409
    assert "is the last board member" in api.json()["detail"]
    assert await roles() == [("B-1", "board", "")]
    assert await role_entries() == []

    # With a second board member, either may step down.
    await post_form(client, "/operator/roles/grant", member="B-2", role="board")  # unknown yet
    await add_member("second@example.org", number="B-2")
    assert (
        await post_form(client, "/operator/roles/grant", member="B-2", role="board")
    ).status_code == 200
    assert (
        await post_form(client, "/operator/roles/revoke", member="B-1", role="board")
    ).status_code == 200
    assert await roles() == [("B-2", "board", "")]


async def test_the_last_operator_of_a_country_keeps_the_role(client):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    await add_member("op.fr@example.org", number="F-1", country="FR", roles=(("operator", "FR"),))
    await add_member("op.be@example.org", number="BE-1", roles=(("operator", "BE"),))
    await sign_in(client, board)

    page = await post_form(
        client, "/operator/roles/revoke", member="F-1", role="operator", country="FR"
    )
    assert page.status_code == 409
    assert "is the last operator of FR" in page.text
    assert await roles() == [
        ("B-1", "board", ""),
        ("BE-1", "operator", "BE"),
        ("F-1", "operator", "FR"),
    ]

    # An operator of BE elsewhere does not count for France; a second French one does.
    await add_member("op2.fr@example.org", number="F-2", country="FR")
    await post_json(client, "/api/roles", {"member": "F-2", "role": "operator", "country": "FR"})
    answer = await post_json(
        client, "/api/roles/revoke", {"member": "F-1", "role": "operator", "country": "FR"}
    )
    assert answer.status_code == 200, answer.text
    assert ("F-1", "operator", "FR") not in await roles()


async def test_an_operator_who_left_does_not_count_as_the_last_one(client):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    gone = await add_member(
        "gone@example.org", number="F-0", country="FR", roles=(("operator", "FR"),)
    )
    await add_member("op.fr@example.org", number="F-1", country="FR", roles=(("operator", "FR"),))
    await Member.update({Member.left_at: clock.now()}).where(Member.id == gone)
    await sign_in(client, board)

    kept = await post_json(
        client, "/api/roles/revoke", {"member": "F-1", "role": "operator", "country": "FR"}
    )
    assert kept.status_code == 409
    left = await post_json(
        client, "/api/roles/revoke", {"member": "F-0", "role": "operator", "country": "FR"}
    )
    assert left.status_code == 200, left.text
    assert await roles() == [("B-1", "board", ""), ("F-1", "operator", "FR")]


async def test_members_who_left_or_were_erased_cannot_be_given_a_role(client):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    left = await add_member("left@example.org", number="L-1", name="Lea")
    erased = await add_member("erased@example.org", number="E-1")
    await Member.update({Member.left_at: clock.now()}).where(Member.id == left)
    await Member.update({Member.erased_at: clock.now()}).where(Member.id == erased)
    await sign_in(client, board)

    page = await post_form(
        client, "/operator/roles/grant", member="L-1", role="operator", country="BE"
    )
    api = await post_json(client, "/api/roles", {"member": "E-1", "role": "board"})

    assert page.status_code == 409
    assert "Lea (L-1) has left the cooperative" in page.text
    assert api.status_code == 409
    assert await roles() == [("B-1", "board", "")]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        (
            {"member": "nobody@example.org", "role": "operator", "country": "FR"},
            400,
            "No member has the email address or member number nobody@example.org.",
        ),
        (
            {"member": "X-404", "role": "board"},
            400,
            "No member has the email address or member number X-404.",
        ),
        (
            {"member": "", "role": "board"},
            400,
            "Give the member&#39;s email address or member number.",
        ),
        ({"member": "F-1", "role": "admin"}, 400, "Unknown role &#39;admin&#39;"),
        (
            {"member": "F-1", "role": "operator", "country": ""},
            400,
            "The operator role needs a country",
        ),
        (
            {"member": "F-1", "role": "operator", "country": "XX"},
            400,
            "The operator role needs a country",
        ),
    ],
)
async def test_bad_input_shows_the_form_again_with_the_message(client, fields, status, message):
    board = await add_member("board@example.org", number="B-1", roles=(("board", ""),))
    await add_member("zoe@example.org", number="F-1", country="FR")
    await sign_in(client, board)

    page = await post_form(client, "/operator/roles/grant", **fields)

    assert page.status_code == status
    assert message in page.text
    assert 'aria-invalid="true"' in page.text
    assert f'value="{fields["member"]}"' in page.text  # what was typed is kept
    assert 'action="/operator/roles/grant"' in page.text
    api = await post_json(client, "/api/roles", {"country": "", **fields})
    assert api.status_code == status
    assert api.headers["content-type"].startswith("application/problem+json")
    assert await roles() == [("B-1", "board", "")]


async def test_two_removals_at_once_leave_one_operator(pooled):
    first = await load_member(
        await add_member("a@example.org", country="FR", roles=(("operator", "FR"),))
    )
    second = await load_member(
        await add_member("b@example.org", country="FR", roles=(("operator", "FR"),))
    )
    assert first is not None and second is not None

    results = await asyncio.gather(
        revoke_member_role(first, "operator", "FR", actor=audit.CLI),
        revoke_member_role(second, "operator", "FR", actor=audit.CLI),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "bool"]
    assert [r for r in results if not isinstance(r, Conflict)] == [True]
    assert len(await roles()) == 1
    assert len(await role_entries()) == 1


# -- the command line --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def sip(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Callable[..., Result], Callable[[], Roles]]]:
    """``sip`` in this process against a new database of the backend, and the roles it holds."""
    from core.cli import main

    monkeypatch.setenv("SIP_SECRET_KEY", SECRET)
    monkeypatch.delenv("SIP_CONFIG", raising=False)  # restored: --config sets it
    (tmp_path / "config.toml").write_text(CONFIG)
    sql = (
        "SELECT m.member_number, r.role, r.country FROM {schema}member_role r "
        "JOIN {schema}member m ON m.id = r.member ORDER BY 1, 2, 3"
    )
    if request.param == "postgres":
        url, schema = request.getfixturevalue("postgres_schema_url")
        monkeypatch.setenv("SIP_DATABASE_URL", url)

        def held() -> Roles:
            return [tuple(r) for r in postgres_fetch(sql.format(schema=f"{schema}."))]  # type: ignore[misc]
    else:
        monkeypatch.delenv("SIP_DATABASE_URL", raising=False)

        def held() -> Roles:
            with sqlite3.connect(tmp_path / "var" / "sip.sqlite3") as conn:
                return conn.execute(sql.format(schema="")).fetchall()

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(tmp_path / "config.toml"), *args])

    assert run("db", "upgrade").exit_code == 0
    (tmp_path / "good.csv").write_text(GOOD)
    assert run("members", "import", str(tmp_path / "good.csv")).exit_code == 0
    yield run, held


def test_the_command_line_keeps_the_last_board_member_and_operator(sip):
    run, held = sip
    assert run("members", "role", "bert@example.org", "board").exit_code == 0
    assert run("members", "role", "anna@example.org", "operator", "--country", "BE").exit_code == 0

    board = run("members", "role", "bert@example.org", "board", "--remove")
    operator = run("members", "role", "anna@example.org", "operator", "--country", "BE", "--remove")

    assert board.exit_code == 1
    assert "Bert Claes (C2) is the last board member" in board.stderr
    assert operator.exit_code == 1
    assert "Anna Peeters (C1) is the last operator of BE" in operator.stderr
    assert "Traceback" not in board.output + operator.output
    assert held() == [("C1", "operator", "BE"), ("C2", "board", "")]

    # Allowed changes answer as they always did.
    again = run("members", "role", "chloe@example.org", "board")
    assert again.exit_code == 0
    assert "chloe@example.org: board granted." in again.stdout
    removed = run("members", "role", "bert@example.org", "board", "--remove")
    assert removed.exit_code == 0
    assert "bert@example.org: board removed." in removed.stdout
    assert held() == [("C1", "operator", "BE"), ("C3", "board", "")]
