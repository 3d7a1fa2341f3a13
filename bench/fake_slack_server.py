"""A minimal Slack Web API sink for the benchmark, in a process of its own.

The real Slack does its work elsewhere; here it shares the 2 cores with the servers under
test, so it must cost as little as possible: a bare asyncio server that answers
`auth.test` and accepts every other call and every `response_url` post with `ok`.
Prints its URL, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

AUTH = json.dumps(
    {
        "ok": True,
        "user_id": "UWARROOMBOT",
        "bot_id": "BWARROOM",
        "team_id": "TLOCAL",
        "team": "bench",
        "user": "warroom",
        "url": "https://bench.invalid/",
    }
).encode()
OK = json.dumps({"ok": True, "ts": "1700000000.000100", "channel": "C0WARROOM1"}).encode()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            length = next(
                (
                    int(v)
                    for k, _, v in (line.partition(":") for line in lines)
                    if k.lower() == "content-length"
                ),
                0,
            )
            if length:
                await reader.readexactly(length)
            body = AUTH if "auth.test" in request_line else OK
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def start() -> tuple[subprocess.Popen, str]:
    """This sink in a process of its own: (the process, its base URL). Stop it with
    `terminate()`."""
    process = subprocess.Popen(
        [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return process, process.stdout.readline().strip()  # type: ignore[union-attr]


async def main() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
