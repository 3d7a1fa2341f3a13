"""OFREP evaluations per second and latency: warroom's single-flag and bulk endpoints, and,
when given an Unleash server, Unleash's frontend API side by side in the same run.

Load comes from `hey` (an external Go load generator: `apt-get install -y hey` on Debian,
or `go install github.com/rakyll/hey@latest`), 32 concurrent connections with keep-alive,
each endpoint warmed for 2 s and then measured for --seconds. warroom runs as
`warroom serve` (uvicorn, one process) on a fresh SQLite file with the playbook's flags;
the targeting key and segment are fixed per run (the evaluation is the same work for any
key). Target: OFREP ≥ 2× Unleash's requests/s and p99 < 20 ms.

    python bench/ofrep_throughput.py [--seconds 10] [--clients 32]
        [--unleash-url http://127.0.0.1:4242 --unleash-frontend-token '*:production.…']
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fake_slack_server  # noqa: E402

CONTEXT = {"context": {"targetingKey": "user-42", "segment": "internal_beta"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_warroom(token: str, fake_url: str, tmp: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench-token",
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_API_URL": f"{fake_url}/api/",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "WARROOM_LOG_LEVEL": "WARNING",
        "WARROOM_OFREP_TOKEN": token,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        cwd=str(ROOT),
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"warroom serve exited: {server.stderr.read() if server.stderr else ''}"
            )
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("warroom serve did not come up")


def hey(args: argparse.Namespace, seconds: float, url: str, extra: list[str]) -> dict[str, float]:
    """One hey run: requests/s, p50 and p99 (ms), and the count of answers not 200."""
    argv = ["hey", "-z", f"{seconds}s", "-c", str(args.clients), *extra, url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {m[0]: float(m[1]) * 1000 for m in re.findall(r"(\d+)%+ in ([\d.]+) secs", out)}
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    not_ok = sum(int(n) for code, n in codes.items() if code != "200")
    return {"rps": rps, "p50": pct.get("50", 0.0), "p99": pct.get("99", 0.0), "not_ok": not_ok}


def measure(args: argparse.Namespace, name: str, url: str, extra: list[str]) -> dict[str, float]:
    hey(args, 2, url, extra)  # warm
    figures = hey(args, args.seconds, url, extra)
    print(
        f"  {name:<22} {figures['rps']:8.0f} req/s   p50 {figures['p50']:6.1f} ms"
        f"   p99 {figures['p99']:6.1f} ms   non-200 {figures['not_ok']:.0f}",
        flush=True,
    )
    return figures


def run(args: argparse.Namespace, url: str, token: str) -> None:
    auth = ["-H", f"Authorization: Bearer {token}", "-T", "application/json"]
    body = ["-m", "POST", "-d", json.dumps(CONTEXT)]
    print(f"OFREP vs Unleash frontend API: hey, {args.clients} connections, {args.seconds:g} s")
    single = measure(
        args, "ofrep single flag", f"{url}/ofrep/v1/evaluate/flags/SMART_PRICING", auth + body
    )
    measure(args, "ofrep bulk (2 flags)", f"{url}/ofrep/v1/evaluate/flags", auth + body)
    if args.unleash_url and args.unleash_frontend_token:
        frontend = (
            f"{args.unleash_url.rstrip('/')}/api/frontend"
            "?userId=user-42&properties[segment]=internal_beta"
        )
        unleash = measure(
            args,
            "unleash frontend API",
            frontend,
            ["-H", f"Authorization: {args.unleash_frontend_token}"],
        )
        print(f"  ofrep single / unleash = {single['rps'] / max(unleash['rps'], 1e-9):.2f}×")
    else:
        print("  (no --unleash-url/--unleash-frontend-token: Unleash not measured this run)")
    ok = single["p99"] < 20
    print(f"  target p99 < 20 ms: {'met' if ok else 'NOT met'} ({single['p99']:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--unleash-url")
    parser.add_argument("--unleash-frontend-token")
    args = parser.parse_args()
    if shutil.which("hey") is None:
        raise SystemExit(
            "hey is not installed: `apt-get install -y hey` (Debian) or "
            "`go install github.com/rakyll/hey@latest`"
        )
    token = secrets.token_hex(16)
    fake, fake_url = fake_slack_server.start()
    server, url = start_warroom(token, fake_url, tempfile.mkdtemp(prefix="warroom-bench-"))
    try:
        run(args, url, token)
    finally:
        server.terminate()
        server.wait(timeout=10)
        fake.terminate()


if __name__ == "__main__":
    main()
