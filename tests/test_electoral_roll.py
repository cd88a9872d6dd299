"""The electoral roll: frozen when a poll opens, it decides who votes in that poll; a change
to the register during the vote neither adds nor removes voters; turnout is against it.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from core.audit import services as audit
from core.auth import services as auth
from core.editions import services as editions
from core.errors import Forbidden
from core.members import importer
from core.members.services import load_member
from core.members.tables import Member
from core.plugins import build_registry
from core.polls import proxies
from core.polls import queries as poll_queries
from core.polls import services as polls
from core.polls.tables import RollEntry
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import open_box

HEADER = "member_number,email,name,country,language,shareholder"
NOT_ON_ROLL = "You are not on this poll's electoral roll"


@pytest.fixture
def rules(database):
    return Rules(build_registry(database), database)


async def new_poll(rules: Rules, operator, slug: str) -> int:
    """A new edition's poll of BE with three candidates, opened now."""
    edition_id = await editions.create_edition(slug)
    board = await load_member(
        await add_member(f"board.{slug}@example.org", roles=(("board", ""),), shareholder=False)
    )
    for title in ("Accompaniment", "New prospects", "Gender equality"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "BE",
        "approval",
        1,
        now - timedelta(hours=1),
        now + timedelta(hours=1),
    )
    await open_box(rules, operator, poll_id)
    return poll_id


async def operator_be():
    return await load_member(
        await add_member(
            "op@example.org", number="OP-1", shareholder=False, roles=(("operator", "BE"),)
        )
    )


async def shareholders_be_sql() -> int:
    """The eligible members of BE as the register stands, counted by the database."""
    rows = await Member.raw(
        "SELECT COUNT(*) AS n FROM member WHERE country = {} AND shareholder = {} "
        "AND left_at IS NULL",
        "BE",
        True,
    )
    return int(rows[0]["n"])


def register_file(*members) -> str:
    lines = [HEADER] + [
        f"{m.member_number},{m.email},{m.name},{m.country},{m.language},"
        f"{'yes' if m.shareholder else 'no'}"
        for m in members
    ]
    return "\n".join(lines) + "\n"


async def everyone_be() -> list:
    rows = await Member.select(Member.id).where(Member.country == "BE").order_by(Member.id)
    return [await load_member(r["id"]) for r in rows]


async def test_opening_a_poll_freezes_its_roll_the_eligible_members_then(rules):
    operator = await operator_be()
    voters = [await load_member(await add_member(f"v{i}@example.org")) for i in range(3)]
    await add_member("not-shareholder@example.org", shareholder=False)
    await add_member("fr@example.org", country="FR")
    expected = await shareholders_be_sql()

    poll_id = await new_poll(rules, operator, "2030-2031")

    poll = await polls.get_poll(poll_id)
    assert poll.roll_size == expected == 3  # the three voters (board, operator: no shares)
    rolled = {
        r["member"]
        for r in await RollEntry.select(RollEntry.member).where(RollEntry.poll == poll_id)
    }
    assert {v.id for v in voters} <= rolled
    assert len(rolled) == expected
    # Who may vote, never how or whether: the roll's columns are the poll and the member.
    assert {c._meta.name for c in RollEntry._meta.columns} == {"id", "poll", "member"}


async def test_a_member_absent_from_a_confirmed_register_keeps_voting_in_the_open_poll_only(
    rules, client
):
    operator = await operator_be()
    leaver = await load_member(await add_member("leaver@example.org", number="X-1"))
    stayer = await load_member(await add_member("stayer@example.org", number="S-1"))
    first = await new_poll(rules, operator, "2030-2031")
    size = (await polls.get_poll(first)).roll_size

    # The full register of BE without X-1 (and with a new member), previewed and confirmed.
    newcomer_line = "N-1,newcomer@example.org,Newcomer,BE,en,yes"
    members = [m for m in await everyone_be() if m.member_number != "X-1"]
    text = register_file(*members).rstrip("\n") + "\n" + newcomer_line + "\n"
    report, preview = await importer.preview_import(
        text, full=True, allowed_countries=["BE"], actor=operator
    )
    assert report.ok and preview is not None
    assert preview.figures["left"] == 1 and preview.figures["new"] == 1
    await importer.confirm_import(preview.id, actor=operator)
    left = await Member.select(Member.left_at).where(Member.id == leaver.id).first()
    assert left["left_at"] is not None

    # The open poll's roll is unchanged: X still votes there, the newcomer does not.
    assert (await polls.get_poll(first)).roll_size == size
    assert await polls.cast(rules, leaver, first, [1])
    newcomer = await load_member(
        (await Member.select(Member.id).where(Member.member_number == "N-1").first())["id"]
    )
    with pytest.raises(Forbidden, match=NOT_ON_ROLL):
        await polls.cast(rules, newcomer, first, [1])
    turnout = await poll_queries.turnout(first)
    assert (turnout.eligible, turnout.voted) == (size, 1)

    # A poll opened afterwards: X is not on its roll and is refused; the newcomer votes.
    second = await new_poll(rules, operator, "2031-2032")
    assert (await polls.get_poll(second)).roll_size == await shareholders_be_sql()
    with pytest.raises(Forbidden, match=NOT_ON_ROLL):
        await polls.cast(rules, leaver, second, [1])
    assert await polls.cast(rules, newcomer, second, [2])
    assert await polls.cast(rules, stayer, second, [2])

    # And X cannot sign in, even with a link sent before.
    link = await auth.create_sign_in_link(leaver.id, 30)
    refused = await client.post(
        f"/api/sign-in/link/{link}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert refused.status_code == 404


async def test_a_proxy_is_checked_against_the_roll(rules):
    operator = await operator_be()
    grantor = await load_member(await add_member("grantor@example.org"))
    poll_id = await new_poll(rules, operator, "2030-2031")
    late = await load_member(await add_member("late@example.org"))

    with pytest.raises(Exception, match="is not a shareholder of BE who votes in this poll"):
        await proxies.grant_proxy(rules, grantor, poll_id, late.id)
    with pytest.raises(Forbidden):
        await proxies.grant_proxy(rules, late, poll_id, grantor.id)


async def test_the_poll_page_shows_the_roll_and_turnout_is_against_it(rules, client):
    operator = await operator_be()
    for i in range(3):
        await add_member(f"v{i}@example.org")
    poll_id = await new_poll(rules, operator, "2030-2031")
    size = (await polls.get_poll(poll_id)).roll_size
    for i in range(5):  # members joining during the vote change neither roll nor turnout
        await add_member(f"late{i}@example.org")
    await sign_in(client, operator.id)

    page = await client.get(f"/polls/{poll_id}")
    turnout = await client.get(f"/api/polls/{poll_id}/turnout")

    assert page.status_code == 200
    assert f"Electoral roll: {size} members, frozen when the vote opened on" in page.text
    assert turnout.json()["eligible"] == size == 3


async def test_a_late_member_is_told_they_are_not_on_the_roll(rules, client):
    operator = await operator_be()
    poll_id = await new_poll(rules, operator, "2030-2031")
    late = await add_member("late@example.org")
    await sign_in(client, late)

    page = await client.get(f"/polls/{poll_id}")

    assert NOT_ON_ROLL in page.text
    assert f'action="/polls/{poll_id}/vote"' not in page.text


async def test_a_roll_of_5000_members_is_written_at_opening(rules):
    operator = await operator_be()
    rows = [f"B{i},b{i}@example.org,Member {i},BE,nl,yes" for i in range(5000)]
    report = await importer.import_members("\n".join([HEADER, *rows]) + "\n", actor=audit.CLI)
    assert report.created == 5000

    poll_id = await new_poll(rules, operator, "2030-2031")

    assert (await polls.get_poll(poll_id)).roll_size == await shareholders_be_sql() == 5000
    assert await RollEntry.count().where(RollEntry.poll == poll_id) == 5000
