"""`sip serve` as a real process for the tests that need one (workers, faults)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import SECRET
from tests.notify_support import free_port, wait_until

SIP = Path(sys.executable).parent / "sip"


def start_sip_serve(
    config: Path, cwd: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``sip serve`` with ``config`` on a free port; return it and its address once it
    answers ``/healthz``."""
    port = free_port()
    env = {**os.environ, "SIP_CONFIG": str(config), "SIP_SECRET_KEY": SECRET}
    env.pop("SIP_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(SIP), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, "the server stopped on its own"
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout=60, what="the server to answer")
    return process, base
