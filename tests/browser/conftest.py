"""Browser fixtures: the real ``sip serve --demo`` in a subprocess, and Debian's Chromium.

Playwright's own browser download is not used: the tests drive the system Chromium
(``/usr/bin/chromium``, or the path in ``SIP_CHROMIUM``). Without it the tests are skipped
locally and fail under ``CI=true`` (see ``tests.conftest.missing``).

Chromium is started with the flags that keep it off the network: the only traffic is to the
test server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SECRET, missing

CHROMIUM = os.environ.get("SIP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 180.0  # a liveness wait, never a verdict: a busy machine seeds slowly
LINK_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sip_command() -> list[str]:
    script = Path(sys.executable).parent / "sip"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "core.cli"]


@dataclass
class Server:
    """The running server: its address and the file its output goes to."""

    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def sign_in_links(self, email: str) -> list[str]:
        pattern = re.compile(
            r"sign-in link for " + re.escape(email) + r" \(valid \d+ minutes, single use\): (\S+)"
        )
        return pattern.findall(self.log())

    def wait_for_new_link(self, email: str, seen: int) -> str:
        """The newest sign-in link for ``email`` once more than ``seen`` are in the log."""
        deadline = time.monotonic() + LINK_TIMEOUT
        while time.monotonic() < deadline:
            links = self.sign_in_links(email)
            if len(links) > seen:
                return links[-1]
            time.sleep(0.05)
        pytest.fail(
            f"no new sign-in link for {email} in the server log within {LINK_TIMEOUT:.0f} s:\n"
            + self.log()[-4000:]
        )


def _config(folder: Path, port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[platform]
name = "Smart in Progress"
contact_email = "sip@smart.coop"
base_url = "http://127.0.0.1:{port}"
default_language = "en"
template_dir = ""

[database]
url = "sqlite:///{folder / "sip.sqlite3"}"

[server]
host = "127.0.0.1"
port = {port}
workers = 1

[security]
sign_in_link_minutes = 30
session_days = 14
secure_cookies = "auto"
failed_sign_ins_per_account = 5
failed_sign_ins_per_address = 20
failed_sign_in_window_minutes = 15

[countries.BE]
name = "Belgium"
plugins = ["track_be"]
# Low, so a browser test can take a proposal over it with a few demo members.
support_threshold = 2

[countries.FR]
name = "France"
plugins = ["track_fr"]
""",
        encoding="utf-8",
    )
    return path


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serving(
    folder: Path, edit_config: Callable[[str], str] = lambda text: text
) -> Iterator[Server]:
    """``sip serve --demo`` on a free port with its own config (``edit_config`` may change the
    file's text) and SQLite file in ``folder``, until the block ends."""
    port = _free_port()
    config = _config(folder, port)
    config.write_text(edit_config(config.read_text(encoding="utf-8")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SIP_DATABASE_URL"}
    env.update(SIP_CONFIG=str(config), SIP_SECRET_KEY=SECRET, PYTHONUNBUFFERED="1")
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*_sip_command(), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    running = Server(url=url, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(
                    f"sip serve exited with {process.returncode} before answering:\n"
                    + running.log()
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"sip serve did not answer {url}/healthz within {START_TIMEOUT:.0f} s:\n"
                    + running.log()
                )
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``sip serve --demo`` on a free port with its own config and SQLite file."""
    with serving(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (module scope keeps it away from other tests'
    event loops)."""
    if not Path(CHROMIUM).exists():
        missing("Chromium", f"{CHROMIUM} does not exist (apt-get install chromium)")
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            missing("Chromium", f"{CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Any, server: Server) -> Iterator[Any]:
    """Make browser contexts on the server (English, like a visitor with an English browser);
    each is closed after the test, which fails if a page requested anything elsewhere."""
    contexts: list[Any] = []
    elsewhere: list[str] = []

    def make(**options: Any) -> Any:
        options.setdefault("base_url", server.url)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        context.on(
            "request",
            lambda request: (
                None
                if request.url.startswith((server.url + "/", "about:", "data:"))
                else elsewhere.append(request.url)
            ),
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert elsewhere == [], f"the pages asked for something off the test server: {elsewhere}"


@pytest.fixture
def page(new_context: Any) -> Any:
    """A fresh page (own cookies) on the server."""
    return new_context().new_page()


@pytest.fixture
def agm_poll(new_context: Any) -> Iterator[Any]:
    """``agm_poll(country)``: the demo's AGM poll of ``country`` open now, got the way an
    operator gets it, through the JSON API (``tests.demo_helpers``): the country's calendar of
    the open edition moved so that the AGM vote phase starts today, the draft poll replaced by
    one whose window is now (inside the phase), the demo's tellers named, the demo's grantor's
    proxy given again, the poll opened. The poll (as ``GET /api/editions/{slug}/polls`` lists
    it) is returned. After the test the calendars are put back, so that the other tests on
    this server find the proposal phase open."""
    from plugins.demo import OPERATOR_OF, TELLERS_NEEDED, TELLERS_OF
    from plugins.demo.people import ACCOUNTS
    from plugins.demo.polls import DEMO_PROXIES
    from tests.browser.test_themes_browser import sign_in, sign_out
    from tests.demo_helpers import (
        REPLACE_REASON,
        agm_now_calendar,
        calendar_json,
        open_slug,
        poll_window,
    )

    email = {a.member_number: a.email for a in ACCOUNTS}
    page = new_context().new_page()
    slug = open_slug()
    moved: dict[str, list[dict[str, str]]] = {}  # country -> its calendar before

    def call(method: str, path: str, body: Any = None) -> Any:
        token = page.request.get("/api/session").json()["csrf_token"]
        response = page.request.fetch(
            path, method=method, data=body, headers={"x-csrftoken": token}
        )
        assert response.ok, (method, path, response.status, response.text())
        return response.json() if response.text() else None

    def put_calendar(country: str, phases: list[dict[str, str]]) -> None:
        call("PUT", f"/api/editions/{slug}/calendar/{country}", {"phases": phases})

    def open_now(country: str) -> dict[str, Any]:
        sign_in(page, email[OPERATOR_OF[country]])
        edition = call("GET", f"/api/editions/{slug}")
        (calendar,) = [c for c in edition["calendars"] if c["country"] == country]
        moved.setdefault(
            country,
            [{k: w[k] for k in ("phase", "starts_on", "ends_on")} for w in calendar["phases"]],
        )
        put_calendar(country, calendar_json(agm_now_calendar(country)))
        polls = call("GET", f"/api/editions/{slug}/polls")
        (draft,) = [p for p in polls if p["country"] == country and p["state"] == "draft"]
        opens_at, closes_at = poll_window(country)
        poll = call(
            "POST",
            f"/api/editions/{slug}/polls",
            {
                "country": country,
                "method": draft["method"],
                "seats": draft["seats"],
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
                "replace": True,
                "replace_reason": REPLACE_REASON,
            },
        )
        tellers = {"tellers": list(TELLERS_OF[country]), "needed": TELLERS_NEEDED}
        call("POST", f"/api/polls/{poll['id']}/tellers", tellers)
        sign_out(page)
        grantor, holder = DEMO_PROXIES[country]
        sign_in(page, email[grantor])
        call("POST", f"/api/polls/{poll['id']}/proxy", {"holder": email[holder]})
        sign_out(page)
        sign_in(page, email[OPERATOR_OF[country]])
        call("POST", f"/api/polls/{poll['id']}/open")
        sign_out(page)
        polls = call("GET", f"/api/editions/{slug}/polls")
        (opened,) = [p for p in polls if p["id"] == poll["id"]]
        assert opened["state"] == "open", opened
        return opened

    yield open_now
    for country, phases in moved.items():
        sign_in(page, email[OPERATOR_OF[country]])
        put_calendar(country, phases)
        sign_out(page)
