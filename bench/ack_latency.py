"""Ack latency of `warroom serve` against a bare Bolt app on the same server stack.

Both are driven with signed `/rollout status` slash commands from 32 concurrent clients
over loopback, first paced (a steady rate, the realistic case: each ack is measured with
the server below saturation) and then flat out (closed loop, to show the ceiling).
Prints p50/p99 ack latency of each, and the ratio. Target: warroom p99 ≤ 1.25× the bare
app's and < 150 ms (Slack's deadline is 3,000 ms).

    python bench/ack_latency.py [--rate 200] [--seconds 15] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fake_slack_server  # noqa: E402
from bot.local import payloads  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            httpx.post(url, content=b"", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


async def drive(
    url: str, secret: str, response_url: str, clients: int, seconds: float, rate: float | None
) -> tuple[list[float], int]:
    """Returns ack latencies (ms) and the count of non-200 answers."""
    latencies: list[float] = []
    failures = 0
    stop_at = time.perf_counter() + seconds
    interval = clients / rate if rate else 0.0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=10) as http:

        async def client(i: int) -> None:
            nonlocal failures
            next_at = time.perf_counter() + (interval * i / clients)
            while True:
                if interval:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                if time.perf_counter() >= stop_at:
                    return
                body = payloads.slash_command(
                    "/rollout", "status", "U0SRE00001", "C0WARROOM1", response_url
                )
                headers = payloads.signed_headers(secret, body)
                started = time.perf_counter()
                response = await http.post(url, content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200

        await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, failures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to show the cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else 0.0


def start_servers(
    secret: str, fake_url: str, tmp: str, warroom_python: list[str] | None = None
) -> tuple[dict[str, subprocess.Popen], dict[str, str]]:
    """The bare Bolt app and `warroom serve`, on the same stand-in and settings."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench-token",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": f"{fake_url}/api/",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "WARROOM_LOG_LEVEL": "WARNING",
    }
    ports = {"bare": free_port(), "warroom": free_port()}
    commands = {
        "bare": (
            [sys.executable, str(ROOT / "bench" / "bare_bolt_app.py"), str(ports["bare"])],
            tmp,
        ),
        "warroom": (
            [
                sys.executable,
                *(warroom_python or ["-m", "bot.cli"]),
                "serve",
                "--port",
                str(ports["warroom"]),
            ],
            str(ROOT),
        ),
    }
    servers = {
        name: subprocess.Popen(argv, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True)
        for name, (argv, cwd) in commands.items()
    }
    urls = {name: f"http://127.0.0.1:{port}/slack/events" for name, port in ports.items()}
    return servers, urls


def measure(
    args: argparse.Namespace,
    servers: dict[str, subprocess.Popen],
    urls: dict[str, str],
    secret: str,
    response_url: str,
) -> None:
    """Paced, then flat out: each server warmed for 2 s, then measured."""
    for mode, rate in (("paced", args.rate), ("flat out", None)):
        results = {}
        for name in ("bare", "warroom"):
            asyncio.run(drive(urls[name], secret, response_url, args.clients, 2, rate))
            cpu_before = cpu_seconds(servers[name].pid)
            lat, failures = asyncio.run(
                drive(urls[name], secret, response_url, args.clients, args.seconds, rate)
            )
            cpu_ms = (cpu_seconds(servers[name].pid) - cpu_before) * 1000 / max(len(lat), 1)
            results[name] = lat
            print(
                f"  {mode:<8} {name:<8} n={len(lat):>6}  {len(lat) / args.seconds:7.0f} req/s"
                f"  p50 {pct(lat, 0.5):7.1f} ms  p99 {pct(lat, 0.99):7.1f} ms"
                f"  server CPU {cpu_ms:4.1f} ms/req  non-200 {failures}"
            )
        ratio = pct(results["warroom"], 0.99) / max(pct(results["bare"], 0.99), 1e-9)
        label = f"{rate:.0f} req/s" if rate else "closed loop"
        print(f"  {mode:<8} p99 ratio warroom/bare = {ratio:.2f} ({label})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200, help="paced requests/s in total")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()

    secret = secrets.token_hex(16)
    fake, fake_url = fake_slack_server.start()
    servers, urls = start_servers(secret, fake_url, tempfile.mkdtemp(prefix="warroom-bench-"))
    try:
        for name, url in urls.items():
            wait_up(url, servers[name])
        # a response_url that the stand-in accepts for the whole run
        response_url = f"{fake_url}/response/bench"
        httpx.post(f"{fake_url}/api/auth.test")  # warm the stand-in
        print(
            f"ack latency, {args.clients} concurrent clients, signed `/rollout status`, "
            f"{os.cpu_count()} cores"
        )
        measure(args, servers, urls, secret, response_url)
    finally:
        for proc in (*servers.values(), fake):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
