"""Two `sip serve` processes on one PostgreSQL database, on different ports as two machines
would be: a plugin switched for France through one takes effect on the other within seconds,
without a restart, and Belgium is untouched."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from core.auth.services import create_sign_in_link
from tests.conftest import POSTGRES_URL, add_member, write_config
from tests.notify_support import wait_until
from tests.server_support import start_sip_serve

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

# The other machine looks for changes this often (config.toml's server.settings_refresh_seconds).
REFRESH = "[server]\nsettings_refresh_seconds = 0.5\n"


def plugins_of(client: httpx.Client) -> dict[str, dict[str, bool]]:
    answer = client.get("/api/plugins")
    assert answer.status_code == 200, answer.text
    return {
        country["country"]: {
            p["name"]: p["enabled"] for p in country["plugins"] + country["available"]
        }
        for country in answer.json()
    }


async def test_a_switch_made_on_one_machine_takes_effect_on_the_other(
    database, tmp_path, request, backend
):
    schema = request.getfixturevalue("postgres_schema")
    operator = await add_member(
        "op@example.org", country="FR", roles=(("operator", "FR"), ("operator", "BE"))
    )
    link = await create_sign_in_link(operator, 30)
    config = write_config(tmp_path, f"{POSTGRES_URL}?schema={schema}", REFRESH)
    machines: list[subprocess.Popen[bytes]] = []
    try:
        one, base_one = start_sip_serve(config, tmp_path)
        machines.append(one)
        two, base_two = start_sip_serve(config, tmp_path)
        machines.append(two)
        assert base_one != base_two

        with httpx.Client(base_url=base_one) as first:
            csrf = first.get("/api/session").json()["csrf_token"]
            signed = first.post(f"/api/sign-in/link/{link}", headers={"x-csrftoken": csrf})
            assert signed.status_code == 200, signed.text
            session = first.cookies["sip_session"]
            with httpx.Client(base_url=base_two, cookies={"sip_session": session}) as second:
                before = plugins_of(second)
                assert before["FR"]["extend_theme"] is False
                assert before["BE"]["extend_theme"] is False

                csrf = first.get("/api/session").json()["csrf_token"]
                switched = first.put(
                    "/api/plugins/FR/extend_theme",
                    json={"enabled": True, "options": {"max_consecutive": 2}},
                    headers={"x-csrftoken": csrf},
                )
                assert switched.status_code == 200, switched.text
                assert plugins_of(first)["FR"]["extend_theme"] is True  # at once, here

                # The other machine: within seconds, and only for France.
                wait_until(
                    lambda: plugins_of(second)["FR"]["extend_theme"],
                    timeout=30,
                    what="the other machine to see the switch",
                )
                after = plugins_of(second)
                assert after["BE"]["extend_theme"] is False
                (fr,) = [c for c in second.get("/api/plugins").json() if c["country"] == "FR"]
                extend = next(p for p in fr["plugins"] if p["name"] == "extend_theme")
                assert {o["name"]: o["value"] for o in extend["options"]} == {"max_consecutive": 2}
    finally:
        for process in machines:
            process.terminate()
            process.wait(timeout=20)
