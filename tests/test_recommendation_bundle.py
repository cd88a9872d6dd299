"""The bundle handed to the board: one country's submitted recommendations, grouped by theme
and group with the groups' attendance, as a printable page, CSV and JSON; and countries kept
apart (a BE operator cannot bundle FR, a FR recommendation never reaches a BE bundle)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.errors import Conflict, Forbidden, InvalidInput
from core.recommendations import bundle as bundles
from core.recommendations import deciding
from core.recommendations import services as recs
from core.recommendations.tables import Bundle, Recommendation
from tests.conftest import csrf_token, sign_in
from tests.recommendations_support import build_cycle, counts

pytestmark = pytest.mark.usefixtures("database")


async def test_a_be_operator_cannot_bundle_france(database):
    cycle = await build_cycle(database)
    await cycle.submitted("FR")
    before = await counts()
    for outsider in (cycle.op_be, cycle.board, cycle.facilitator_fr):
        with pytest.raises(Forbidden, match="operators of FR"):
            await deciding.create_bundle(cycle.rules, outsider, cycle.edition_id, "FR")
    with pytest.raises(InvalidInput, match="Unknown country"):
        await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "NL")
    assert await counts() == before


async def test_a_french_recommendation_never_reaches_a_belgian_bundle(database):
    cycle = await build_cycle(database)
    be_one = await cycle.submitted("BE", "Belgian one")
    be_two = await cycle.submitted("BE", "Belgian two")
    fr_one = await cycle.submitted("FR", "French one")
    be_bundle = await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    doc = await bundles.bundle_document(be_bundle, "en")
    ids = {i.id for t in doc.themes for g in t.groups for i in g.recommendations}
    assert ids == {be_one, be_two} and doc.country == "BE" and doc.recommendations == 2
    fr_row = await Recommendation.select().where(Recommendation.id == fr_one).first()
    assert fr_row["bundle"] is None  # still waiting for the French operators
    fr_bundle = await deciding.create_bundle(cycle.rules, cycle.op_fr, cycle.edition_id, "FR")
    fr_doc = await bundles.bundle_document(fr_bundle, "en")
    assert [i.id for t in fr_doc.themes for g in t.groups for i in g.recommendations] == [fr_one]
    for bundle_id, country in ((be_bundle, "BE"), (fr_bundle, "FR")):
        rows = await Recommendation.select(Recommendation.country).where(
            Recommendation.bundle == bundle_id
        )
        assert {r["country"] for r in rows} == {country}


async def test_bundling_takes_what_waits_and_nothing_twice(database):
    cycle = await build_cycle(database)
    first = await cycle.submitted("BE", "First")
    drafted = await recs.draft(
        cycle.rules,
        cycle.facilitator_be,
        cycle.group_be,
        recs.RecommendationIn("A draft", "Still being discussed by the group."),
    )
    one = await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    before = await counts()
    with pytest.raises(Conflict, match="waits for a bundle"):
        await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    assert await counts() == before
    later = await cycle.submitted("BE", "Later")
    two = await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    bundled = {
        r["id"]: r["bundle"]
        for r in await Recommendation.select(Recommendation.id, Recommendation.bundle)
    }
    assert bundled == {first: one, drafted: None, later: two}


async def test_the_document_groups_by_theme_and_group_with_attendance(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.submitted("BE")
    await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    bundle_id = (await Bundle.select(Bundle.id).first())["id"]
    doc = await bundles.bundle_document(bundle_id, "en")
    (theme,) = doc.themes
    (group,) = theme.groups
    assert (theme.id, theme.title) == (cycle.theme_id, "Ethics")
    # Two meetings of three participants recorded: present 2 then 1 of 3.
    assert (group.participants, group.meetings, group.present, group.recorded) == (3, 2, 3, 6)
    assert group.attendance_rate == 0.5
    assert group.facilitators == ["Fien Fac"]
    assert [i.id for i in group.recommendations] == [rec_id]

    rows = list(csv.DictReader(io.StringIO(bundles.bundle_csv(doc))))
    assert len(rows) == 1
    assert (rows[0]["theme"], rows[0]["group"], rows[0]["attendance_rate"]) == (
        "Ethics",
        str(group.id),
        "0.500",
    )
    assert rows[0]["recommendation"] == str(rec_id) and rows[0]["decision"] == ""
    data = json.loads(bundles.bundle_json(doc))
    assert data["themes"][0]["groups"][0]["recommendations"][0]["id"] == rec_id


async def test_a_formula_in_a_title_stays_text_in_the_csv(database):
    cycle = await build_cycle(database)
    await cycle.submitted("BE", "=HYPERLINK(1)")
    bundle_id = await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    rows = list(
        csv.DictReader(io.StringIO(bundles.bundle_csv(await bundles.bundle_document(bundle_id))))
    )
    assert rows[0]["title"] == "'=HYPERLINK(1)"


async def test_the_bundle_pages_and_exports(client):
    cycle = await build_cycle(client.app.state.settings)
    rec_id = await cycle.submitted("BE", "A mediation service")
    await sign_in(client, cycle.op_be.id)
    pending = await client.get("/editions/2020-2021/bundles/BE")
    assert pending.status_code == 200 and "A mediation service" in pending.text
    csrf = await csrf_token(client)
    made = await client.post(
        "/editions/2020-2021/bundles/BE", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert made.status_code == 303
    bundle_url = made.headers["location"]
    page = await client.get(bundle_url)
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in page.text
    assert f'href="/recommendations/{rec_id}"' in page.text and "Attendance: 50%" in page.text
    printed = await client.get("/static/print.css")
    assert printed.status_code == 200 and "display: none" in printed.text
    exported = await client.get(bundle_url + "/bundle.csv")
    assert exported.status_code == 200 and "A mediation service" in exported.text
    assert exported.headers["content-disposition"].startswith("attachment")
    as_json = await client.get(bundle_url + "/bundle.json")
    assert as_json.json()["country"] == "BE"


async def test_who_reads_a_bundle(client):
    cycle = await build_cycle(client.app.state.settings)
    await cycle.submitted("BE")
    bundle_id = await deciding.create_bundle(cycle.rules, cycle.op_be, cycle.edition_id, "BE")
    for reader, status in (
        (cycle.op_fr, 403),
        (cycle.facilitator_be, 403),
        (cycle.board, 200),
        (cycle.op_be, 200),
    ):
        await sign_in(client, reader.id)
        for path in (f"/bundles/{bundle_id}", f"/api/bundles/{bundle_id}"):
            assert (await client.get(path)).status_code == status, (reader.email, path)
        assert (await client.get(f"/bundles/{bundle_id}/bundle.csv")).status_code == status
