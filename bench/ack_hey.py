"""Ack latency under an external load generator: Debian's `hey` (Go, its own process, so it
does not share the Python interpreter with the servers the way bench/ack_latency.py does).

Signed `/rollout status` at 200 req/s from 32 workers, against `warroom serve` and the bare
async Bolt app (bench/bare_bolt_app.py) on the same stand-in Slack: each in a fresh process
for its first 10 s, then again warm. Prints p50/p99 of each.

hey sends the very same signed bytes every time, which warroom rightly drops as replays
after the first; so that every request takes the full command path, the warroom process
here keys its replay check on the signature plus a fresh uuid (one database insert per
request, as in production, where every Slack request is signed anew).

    python bench/ack_hey.py [--seconds 10] [--rate 200] [--workers 32]
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fake_slack_server  # noqa: E402
from bench.ack_latency import start_servers, wait_up  # noqa: E402
from bot.local import payloads  # noqa: E402

HEY = shutil.which("hey") or "/usr/bin/hey"

# `warroom serve`, with the replay key made unique per request (see the module doc)
UNIQUE_REPLAY_KEYS = """
import sys, uuid
from bot import edge
first = edge.SlackGate.first
async def every_request_new(self, signature):
    return await first(self, signature + uuid.uuid4().hex)
edge.SlackGate.first = every_request_new
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def hey(url: str, secret: str, response_url: str, args: argparse.Namespace, tmp: str) -> str:
    body = payloads.slash_command("/rollout", "status", "U0SRE00001", "C0WARROOM1", response_url)
    headers = payloads.signed_headers(secret, body)
    body_file = Path(tmp) / "body.txt"
    body_file.write_text(body)
    argv = [
        HEY,
        "-z", f"{args.seconds}s",
        "-c", str(args.workers),
        "-q", f"{args.rate / args.workers:g}",
        "-m", "POST",
        "-T", headers["content-type"],
        "-H", f"X-Slack-Request-Timestamp: {headers['x-slack-request-timestamp']}",
        "-H", f"X-Slack-Signature: {headers['x-slack-signature']}",
        "-D", str(body_file),
        url,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def summary(out: str) -> str:
    def at(q: str) -> float:
        found = re.search(rf"{q}% in ([0-9.]+) secs", out)
        return float(found.group(1)) * 1000 if found else float("nan")

    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    return (
        f"{float(rps.group(1)) if rps else 0:6.0f} req/s  p50 {at('50'):7.1f} ms  "
        f"p99 {at('99'):7.1f} ms  codes {dict(codes)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200, help="requests/s in total")
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    if not Path(HEY).exists():
        print("hey is not installed (apt-get install hey); skipped")
        return
    secret = secrets.token_hex(16)
    tmp = tempfile.mkdtemp(prefix="warroom-hey-")
    fake, fake_url = fake_slack_server.start()
    servers, urls = start_servers(secret, fake_url, tmp, ["-c", UNIQUE_REPLAY_KEYS])
    try:
        response_url = f"{fake_url}/response/bench"
        print(f"hey: signed `/rollout status`, {args.rate:g} req/s from {args.workers} workers")
        for name in ("bare", "warroom"):
            wait_up(urls[name], servers[name])
            for phase in ("fresh", "warm"):
                out = hey(urls[name], secret, response_url, args, tmp)
                print(f"  {name:<8} {phase:<6} {summary(out)}")
    finally:
        for proc in (*servers.values(), fake):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
