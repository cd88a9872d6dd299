"""What the load benchmarks share: a throw-away platform, its server, and wrk.

Each benchmark builds its data in a temporary folder (or a fresh PostgreSQL schema), starts
``sip serve`` on a free port like an operator would, and drives it with ``wrk`` (Debian's
package). A tiny plugin, ``bench_bare`` (``bench/bare_plugin.py``), adds ``POST /bench/bare``:
the bare endpoint of the same server, which every ratio is measured against.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SIP = Path(sys.executable).parent / "sip"
SECRET = "bench-secret-key-that-is-long-enough-for-hmac-0123456789"
POSTGRES_URL = os.environ.get("SIP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Platform:
    """A configured platform in a folder: its config file and the environment to run it."""

    folder: Path
    config: Path
    database_url: str
    schema: str | None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SIP_CONFIG"] = str(self.config)
        env["SIP_SECRET_KEY"] = SECRET
        env.pop("SIP_DATABASE_URL", None)
        # The bench plugin is found through an entry point in this folder.
        env["PYTHONPATH"] = os.pathsep.join([str(self.folder / "site"), str(BENCH)])
        return env

    def use_here(self) -> None:
        """Point this process at the platform (to prepare or check its data directly)."""
        os.environ["SIP_CONFIG"] = str(self.config)
        os.environ["SIP_SECRET_KEY"] = SECRET
        os.environ.pop("SIP_DATABASE_URL", None)
        # The project's root first: tests/demo_helpers.py opens the demo's poll.
        for entry in (str(BENCH), str(self.folder / "site"), str(ROOT)):
            if entry not in sys.path:
                sys.path.insert(0, entry)


def _bare_plugin_site(folder: Path) -> Path:
    """A dist-info that declares the ``bench_bare`` plugin's entry point (no install)."""
    site = folder / "site"
    info = site / "sip_bench_bare-0.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sip-bench-bare\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text("[sip]\nbench_bare = bare_plugin\n")
    return site


@contextlib.contextmanager
def platform_in_tmp(postgres: bool = False, relay: bool = False) -> Iterator[Platform]:
    """A config.toml in a fresh folder: SQLite there, or a new schema in PostgreSQL."""
    folder = Path(tempfile.mkdtemp(prefix="sip-bench-"))
    schema = f"sip_bench_{uuid.uuid4().hex[:8]}" if postgres else None
    url = f"{POSTGRES_URL}?schema={schema}" if postgres else f"sqlite:///{folder / 'sip.sqlite3'}"
    _bare_plugin_site(folder)
    config = folder / "config.toml"
    config.write_text(
        f"""
[platform]
contact_email = "bench@example.org"
base_url = "http://127.0.0.1:8000"

[database]
url = "{url}"

[notifications]
relay_in_server = {"true" if relay else "false"}

[countries.BE]
name = "Belgium"
plugins = ["track_be", "bench_bare"]

[countries.FR]
name = "France"
plugins = ["track_fr"]
"""
    )
    if schema:
        _psql(f"CREATE SCHEMA {schema}")
    try:
        yield Platform(folder, config, url, schema)
    finally:
        if schema:
            _psql(f"DROP SCHEMA {schema} CASCADE")
        shutil.rmtree(folder, ignore_errors=True)


def _psql(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def sip(target: Platform, *args: str) -> None:
    subprocess.run([str(SIP), *args], env=target.env, check=True, cwd=target.folder)


@dataclass
class Server:
    url: str
    pid: int


@contextlib.contextmanager
def server(target: Platform, workers: int = 1) -> Iterator[Server]:
    """``sip serve`` on a free port, once it answers."""
    port = free_port()
    log = open(target.folder / f"server-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [str(SIP), "serve", "--port", str(port), "--workers", str(workers)],
        env=target.env,
        cwd=target.folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: see {log.name}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 120 s")
            time.sleep(0.2)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live descendants (the workers),
    from /proc (Linux); 0.0 elsewhere. The server's own work, which the other processes sharing
    the cores change much less than they change its throughput."""
    proc = Path("/proc")
    if not (proc / str(pid)).exists():
        return 0.0
    parent: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = int(fields[11]) + int(fields[12])
    family, grew = {pid}, True
    while grew:
        more = {child for child, up in parent.items() if up in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(p, 0) for p in family) / os.sysconf("SC_CLK_TCK")


@dataclass
class WrkResult:
    requests: int
    seconds: float
    ok: int
    errors: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    sessions_short: int
    receipts: list[str]
    server_cpu_s: float = 0.0  # the server's CPU time during the run (with ``server_pid``)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_ok(self) -> float:
        """The server's CPU milliseconds per acknowledged request."""
        return self.server_cpu_s * 1000 / self.ok if self.ok else 0.0


@contextlib.contextmanager
def profiled(pid: int, label: str) -> Iterator[None]:
    """With SIP_BENCH_PYSPY=folder, record the server with py-spy (GIL holder) meanwhile."""
    folder = os.environ.get("SIP_BENCH_PYSPY")
    if not folder:
        yield
        return
    out = Path(folder) / f"{label}.txt"
    spy = subprocess.Popen(
        ["py-spy", "record", "-p", str(pid), "--gil", "-f", "raw", "-r", "250", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait()


def wrk(
    url: str,
    script: Path,
    script_args: list[str],
    *,
    connections: int = 64,
    threads: int = 2,
    seconds: int = 10,
    server_pid: int | None = None,
) -> WrkResult:
    """Run wrk with ``script`` (bench/post.lua); the script writes its summary as JSON. With
    ``server_pid``, the server's CPU time during the run is measured too."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
        subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
                "--",
                out.name,
                str(threads),
                *script_args,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cpu = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
        data = json.loads(Path(out.name).read_text())
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        ok=data["ok"],
        errors=data["requests"] - data["ok"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        socket_errors=data["socket_errors"],
        sessions_short=data["sessions_short"],
        receipts=data["receipts"],
        server_cpu_s=cpu,
    )
