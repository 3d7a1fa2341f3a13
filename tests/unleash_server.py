"""A real Unleash (unleash-server 7.5.1 from tests/node/unleash) on 127.0.0.1, against a fresh
PostgreSQL database, with admin, client and frontend tokens preloaded.

    python tests/unleash_server.py     # runs one until Ctrl-C and prints its URL and tokens
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent / "node" / "unleash"
PG_ADMIN_URL = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_TOKEN = "*:*.warroom-test-admin-token"
CLIENT_TOKEN = "default:production.warroom-test-client-token"
FRONTEND_TOKEN = "default:production.warroom-test-frontend-token"


def why_not() -> str | None:
    """None when an Unleash can be started here, else why not (the tests skip with it)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (HERE / "node_modules" / "unleash-server").is_dir():
        return f"unleash-server is not installed: run `npm ci` in {HERE}"
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any reason is the reason to skip
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Unleash:
    url: str
    database: str
    process: subprocess.Popen[bytes]
    admin_token: str = ADMIN_TOKEN
    client_token: str = CLIENT_TOKEN
    frontend_token: str = FRONTEND_TOKEN

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": self.admin_token})

    def client_features(self) -> dict[str, dict]:
        """What a service's SDK sees: the client API for the production environment."""
        answer = httpx.get(
            f"{self.url}/api/client/features", headers={"Authorization": self.client_token}
        )
        answer.raise_for_status()
        return {f["name"]: f for f in answer.json()["features"]}

    def stop(self) -> None:
        import psycopg

        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def start(log: Path | None = None, timeout: float = 120) -> Unleash:
    import psycopg

    database = f"warroom_unleash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_NAME": database,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "CLIENT_TOKEN": CLIENT_TOKEN,
        "FRONTEND_TOKEN": FRONTEND_TOKEN,
        "CHECK_VERSION": "false",
        "SEND_TELEMETRY": "false",
    }
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(
        ["node", str(HERE / "start.js")], cwd=HERE, env=env, stdout=out, stderr=out
    )
    server = Unleash(f"http://127.0.0.1:{port}", database, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"unleash-server exited with {process.returncode} (see {log})")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"unleash-server did not answer /health within {timeout:.0f} s")


if __name__ == "__main__":
    reason = why_not()
    if reason:
        raise SystemExit(reason)
    running = start(Path("unleash.log"))
    print(f"Unleash at {running.url}\n  admin    {running.admin_token}")
    print(f"  client   {running.client_token}\n  frontend {running.frontend_token}")
    try:
        running.process.wait()
    except KeyboardInterrupt:
        running.stop()
