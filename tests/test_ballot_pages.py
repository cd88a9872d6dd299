"""The ballot box's pages, without JavaScript: an operator names the tellers with a form, a
teller is shown their share once (never cached), the tellers count with a form that comes back
with a clear message when it is wrong, anyone checks a receipt in the public box; and the
command line's ``sip poll count``."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from click.testing import CliRunner

from core import clock, db
from core.cli import main
from core.editions import services as editions
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.polls.tables import ClearBallot, Poll, PollTeller, SealedBallot
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import (
    make_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)


async def make_edition(client) -> None:
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    await editions.create_edition("2020-2021")
    edition = await editions.get_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Accompaniment", "New prospects", "Gender equality", "Sharing economy"):
        await themes.add_board_theme(
            rules, board, edition.id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )


async def draft(client, operator_id: int) -> int:
    await make_edition(client)
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    edition_id = (await editions.get_edition("2020-2021")).id
    now = clock.now()
    return await polls.create_poll(
        rules,
        await load_member(operator_id),
        edition_id,
        "BE",
        "approval",
        2,
        now - timedelta(minutes=5),
        now + timedelta(hours=2),
    )


def words(page: str) -> str:
    return " ".join(re.findall(r"<li>([a-z]+)</li>", page.split('class="share-words"')[1]))


async def test_tellers_share_count_and_box_through_the_pages(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft(client, operator)
    tellers = await make_tellers("BE", 3)
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    page = await client.get(f"/polls/{poll_id}")
    for teller in tellers:
        assert f'name="teller" value="{teller.id}"' in page.text
    # Bad input: the form comes back with the message, and nothing is named.
    for data, message in (
        ({"teller": [str(tellers[0].id)], "needed": "x"}, "as a number"),
        ({"teller": ["abc"], "needed": "1"}, "Choose the tellers in the list."),
        ({"teller": [str(t.id) for t in tellers], "needed": "4"}, "Between 1 and 3"),
        ({"needed": "1"}, "Name at least one teller."),
    ):
        refused = await client.post(f"/polls/{poll_id}/tellers", data={"_csrf_token": csrf, **data})
        assert refused.status_code == 400 and message in refused.text, refused.text
        assert await PollTeller.count() == 0
    opened = await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf})
    assert opened.status_code == 409 and "Name the poll&#39;s tellers" in opened.text
    named = await client.post(
        f"/polls/{poll_id}/tellers",
        data={"_csrf_token": csrf, "teller": [str(t.id) for t in tellers], "needed": "2"},
    )
    assert named.status_code == 200 and await PollTeller.count() == 3  # after the redirect
    assert "The ballot box opens with the shares of 2 tellers of:" in named.text
    await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf, "confirm": "yes"})
    running = await client.get(f"/polls/{poll_id}")
    assert running.text.count("share waiting in the server's memory") == 3

    shares = []
    for teller in tellers:
        await sign_in(client, teller.id)
        csrf = await csrf_token(client)
        before = await client.get(f"/polls/{poll_id}/share")
        assert before.status_code == 200 and "share-words" not in before.text
        shown = await client.post(f"/polls/{poll_id}/share", data={"_csrf_token": csrf})
        assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
        shares.append(words(shown.text))
        assert len(shares[-1].split()) == 33
        again = await client.post(f"/polls/{poll_id}/share", data={"_csrf_token": csrf})
        assert again.status_code == 409 and "never shown again" in again.text
        assert "share-words" not in again.text

    voter = await add_member("voter@example.org")
    await sign_in(client, voter)
    csrf = await csrf_token(client)
    cast = await client.post(
        f"/polls/{poll_id}/vote", data={"_csrf_token": csrf, "choice": ["2"], "confirm": "yes"}
    )
    receipt = cast.text.split('<code class="receipt">')[1].split("</code>")[0]
    box = await client.get(f"/polls/{poll_id}/box")
    assert receipt in box.text and "1 ballot in the box" in box.text
    for typed, found in ((receipt.upper(), True), (receipt[:-1] + "0" * 1, receipt[-1] == "0")):
        checked = await client.post(
            f"/polls/{poll_id}/box", data={"_csrf_token": csrf, "receipt": typed}
        )
        expected = "Your ballot is in the ballot box." if found else "No ballot in the box"
        assert expected in checked.text
    for odd in ("abc", "0", "99999999999999", "-1"):
        assert (await client.get(f"/polls/{poll_id}/box?page={odd}")).status_code == 200
    assert (await client.get(f"/polls/{poll_id}/trackers.txt")).text == receipt + "\n"

    await sign_in(client, operator)
    csrf = await csrf_token(client)
    await client.post(f"/polls/{poll_id}/close", data={"_csrf_token": csrf, "confirm": "yes"})
    await sign_in(client, tellers[1].id)
    csrf = await csrf_token(client)
    form = await client.get(f"/polls/{poll_id}/count")
    assert form.text.count('name="share"') == 2
    short = await client.post(
        f"/polls/{poll_id}/count", data={"_csrf_token": csrf, "share": [shares[0]]}
    )
    assert short.status_code == 400 and "2 tellers&#39; shares are needed" in short.text
    assert shares[0] not in short.text  # a refused share is not shown back
    assert (await polls.get_poll(poll_id)).state == "closed" and await ClearBallot.count() == 0
    counted = await client.post(
        f"/polls/{poll_id}/count",
        data={"_csrf_token": csrf, "share": [shares[1], shares[2]], "confirm": "yes"},
    )
    assert counted.status_code == 200 and "/results" in str(counted.url)
    assert await SealedBallot.count() == 0 and await ClearBallot.count() == 1


async def test_a_sealed_ballot_changed_in_the_database_stops_the_count(client):
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft(client, operator_id)
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    operator = await load_member(operator_id)
    (teller,) = await make_tellers("BE", 1)
    await polls.set_tellers(rules, operator, poll_id, [teller.id], 1)
    await polls.open_poll(rules, operator, poll_id)
    share = (await polls.collect_share(teller, poll_id)).share
    for n in range(2):
        await polls.cast(
            rules, await load_member(await add_member(f"v{n}@example.org")), poll_id, [1]
        )
    await polls.close_poll(rules, operator, poll_id)
    row = await SealedBallot.select().first()
    changed = bytearray(row["sealed"])
    changed[-1] ^= 1
    await SealedBallot.update({SealedBallot.sealed: bytes(changed)}).where(
        SealedBallot.id == row["id"]
    )
    await sign_in(client, teller.id)
    refused = await client.post(
        f"/api/polls/{poll_id}/count",
        json={"shares": [share]},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert refused.status_code == 409 and "does not add up" in refused.json()["detail"]
    assert await SealedBallot.count() == 2 and await ClearBallot.count() == 0
    assert (await Poll.select(Poll.state).first())["state"] == "closed"


async def test_sip_poll_count_takes_the_shares_typed_hidden(client, tmp_path):
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft(client, operator_id)
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    operator = await load_member(operator_id)
    tellers = await make_tellers("BE", 2)
    await polls.set_tellers(rules, operator, poll_id, [t.id for t in tellers], 2)
    await polls.open_poll(rules, operator, poll_id)
    shares = [(await polls.collect_share(t, poll_id)).share for t in tellers]
    await polls.cast(rules, await load_member(await add_member("v@example.org")), poll_id, [2])
    await polls.close_poll(rules, operator, poll_id)
    config = str(settings.config_path)
    env = {}
    if not settings.is_sqlite:  # the test's schema, as the command line would be configured
        schema = (await db.engine().run_ddl("SELECT current_schema() AS s"))[0]["s"]
        env["SIP_DATABASE_URL"] = f"{settings.database_url}?schema={schema}"
    ours = db.engine()

    async def sip(*args: str, typed: str = ""):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["--config", config, *args], input=typed, env=env
        )
        db.bind(ours)  # the command bound its own engine
        return result

    wrong = await sip("poll", "count", str(poll_id), typed=f"{shares[0]}\n{shares[0]}\n")
    assert wrong.exit_code == 2 and "Not counted" in wrong.output
    assert shares[0] not in wrong.output  # typed hidden, never echoed
    assert (await polls.get_poll(poll_id)).state == "closed"
    done = await sip("poll", "count", str(poll_id), typed="\n".join(shares) + "\n")
    assert done.exit_code == 0, done.output
    assert "Counted and published: winners" in done.output
    assert (await polls.get_poll(poll_id)).state == "published"
    again = await sip("poll", "count", str(poll_id))
    assert again.exit_code == 0 and "counted already" in again.output


async def test_sip_poll_open_shows_each_teller_their_share_alone(client):
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft(client, operator_id)
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    tellers = await make_tellers("BE", 3)
    await polls.set_tellers(
        rules, await load_member(operator_id), poll_id, [t.id for t in tellers], 2
    )
    env = {}
    if not settings.is_sqlite:
        schema = (await db.engine().run_ddl("SELECT current_schema() AS s"))[0]["s"]
        env["SIP_DATABASE_URL"] = f"{settings.database_url}?schema={schema}"
    ours = db.engine()
    opened = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["--config", str(settings.config_path), "poll", "open", str(poll_id)],
        input="\n" * 6,
        env=env,
        color=True,  # as on a terminal: the clearing codes are written
    )
    db.bind(ours)
    assert opened.exit_code == 0, opened.output
    poll = await polls.get_poll(poll_id)
    assert poll.state == "open"
    # Each share was shown once, between a screen clear, and none waits in any memory.
    screens = opened.output.split("\033[3J\033[H\033[2J")
    shown = [re.findall(r"\d+\. ([a-z]+)", screen) for screen in screens]
    shares = [" ".join(w) for w in shown if w]
    assert [len(s.split()) for s in shares] == [33, 33, 33]
    assert all(t.collected and not t.waiting for t in await polls.tellers_of(poll))
    await polls.cast(rules, await load_member(await add_member("v@example.org")), poll_id, [1])
    await polls.close_poll(rules, await load_member(operator_id), poll_id)
    await polls.count_poll(rules, tellers[0], poll_id, shares[1:])
    assert (await polls.get_poll(poll_id)).state == "published"
