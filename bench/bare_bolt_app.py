"""The floor: a bare AsyncApp with one no-op /rollout listener, on warroom's server stack
(Starlette + AsyncSlackRequestHandler + uvicorn). Run by bench/ack_latency.py."""

from __future__ import annotations

import os
import sys

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

app = AsyncApp(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    ),
)


@app.command("/rollout")
async def rollout(ack) -> None:  # type: ignore[no-untyped-def]
    await ack()


handler = AsyncSlackRequestHandler(app)


async def events(request: Request):  # type: ignore[no-untyped-def]
    return await handler.handle(request)


web = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(web, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
