"""OFREP over the real app on a real socket: the spec's status and error codes, the bulk
ETag, and the OpenFeature Python SDK with its OFREP provider (a client no one here wrote):
key by key the answers flagd's own bucketing gives (a quarter at 25 %), the same answer for
the same key, monotonic buckets, and the new state seen after a rollback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from bot.app import build_asgi
from bot.clock import FakeClock
from bot.flags.evaluation import FlagRules, bucket, evaluate
from bot.playbook import Playbook
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import SRE, LiveBot, free_socket

if TYPE_CHECKING:
    from openfeature.client import OpenFeatureClient

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the OpenFeature SDKs are the point")]

OFREP_TOKEN = "ofrep-test-token-4242"
FLAG = "SMART_PRICING"
KEYS = [f"user-{i}" for i in range(10_000)]
# What a client sees is checked key by key against `flagd_on` (flagd's own bucketing, not
# ours), so the check is exact, not a count: a bug that answers a share f of the keys wrong
# survives n keys with probability (1 - f)^n — for SAMPLE's 1,000 keys, 4e-5 at f = 1 % and
# 2e-9 at f = 2 % (the count over 10,000 keys this replaced, ±150, missed every bug moving
# fewer than 1.5 % of the keys, and any moving them both ways). The count is still asserted,
# so the split is still a quarter: 1,000 keys at p = 0.25, sd = sqrt(n p (1 - p)) ≈ 13.7,
# ±55 is 4 sd; at p = 0.1, sd ≈ 9.5, ±40 is 4.2 sd. Checks of something all-or-nothing (a
# segment gated off, the same answers again) take SMALL: an answer wrong for 10 % of the
# keys passes 250 keys with probability 0.9^250 ≈ 4e-12.
SAMPLE = KEYS[:1000]
SMALL = KEYS[:250]
QUARTER_TOLERANCE, TENTH_TOLERANCE = 55, 40


def flagd_on(keys: list[str], percent: int) -> set[str]:
    """The keys flagd's `fractional` (its code) puts in `on` at `percent`: a correct
    server's exact answers for a context in one of the flag's segments."""
    from openfeature.contrib.tools.flagd.core.targeting.custom_ops import fractional

    return {
        key
        for key in keys
        if fractional(
            {"targetingKey": key, "$flagd": {"flagKey": FLAG}},
            ["on", percent],
            ["off", 100 - percent],
        )
        == "on"
    }


@dataclass
class OfrepBot:
    url: str
    services: Services
    flagd_file: Path
    http: httpx.Client

    def bulk(self, context: dict, etag: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {OFREP_TOKEN}"}
        if etag:
            headers["If-None-Match"] = etag
        return self.http.post(
            f"{self.url}/ofrep/v1/evaluate/flags", json={"context": context}, headers=headers
        )

    def one(self, key: str, body: object, token: str | None = OFREP_TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        content = body if isinstance(body, bytes) else None
        return self.http.post(
            f"{self.url}/ofrep/v1/evaluate/flags/{key}",
            content=content,
            json=None if content is not None else body,
            headers=headers,
        )


def serve(services: Services) -> tuple[str, uvicorn.Server, threading.Thread, socket.socket]:
    sock = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(build_asgi(services), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    host, port = sock.getsockname()
    return f"http://{host}:{port}", server, thread, sock


@contextmanager
def running_bot(
    settings: Settings, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> Iterator[OfrepBot]:
    """The app with an OFREP token and a flagd file, served on a real socket."""
    flagd_file = tmp_path / "flags.flagd.json"
    configured = settings.model_copy(
        update={
            "warroom_ofrep_token": SecretStr(OFREP_TOKEN),
            "warroom_flagd_file": str(flagd_file),
        }
    )
    services = build_services(configured, playbook, clock)
    url, server, thread, sock = serve(services)
    with httpx.Client(timeout=10) as http:
        yield OfrepBot(url, services, flagd_file, http)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def ofrep_bot(
    settings: Settings, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> Iterator[OfrepBot]:
    with running_bot(settings, playbook, clock, tmp_path) as bot:
        yield bot


def set_25(bot: OfrepBot) -> None:
    bot.services.rollout.set_flag(SRE, FLAG, "25", "internal_beta,external_beta", "launch")


def rollback(bot: OfrepBot) -> None:
    bot.services.rollout.apply_target(FLAG, 10, ["internal_beta"], "rollback")
    bot.services.rollout.clear_external_rules(FLAG, "rollback")


# ---- the rules, pure ----------------------------------------------------------------------


def test_buckets_are_flagds_and_monotonic() -> None:
    # murmur3_x86_32("SMART_PRICINGuser-1", seed 0) computed by flagd's own bucketing below
    from openfeature.contrib.tools.flagd.core.targeting.custom_ops import fractional

    for key in KEYS[:2000]:
        data = {"targetingKey": key, "$flagd": {"flagKey": FLAG}}
        for percent in (10, 25, 50):
            theirs = fractional(data, ["on", percent], ["off", 100 - percent])
            assert (bucket(FLAG, key) < percent) == (theirs == "on"), (key, percent)
    ten = FlagRules(FLAG, 10, ("internal_beta",))
    quarter = FlagRules(FLAG, 25, ("internal_beta",))
    ctx = [{"targetingKey": k, "segment": "internal_beta"} for k in KEYS]
    on_10 = {c["targetingKey"] for c in ctx if evaluate(ten, c).value}
    on_25 = {c["targetingKey"] for c in ctx if evaluate(quarter, c).value}
    assert on_10 < on_25


def test_segment_then_user_rule_then_split() -> None:
    flag = FlagRules(FLAG, 25, ("internal_beta",), {"vip": True, "blocked": False})
    outside = evaluate(flag, {"targetingKey": "vip", "segment": "external_beta"})
    assert (outside.value, outside.reason) == (False, "DEFAULT")
    assert evaluate(flag, {"targetingKey": "vip", "segment": "internal_beta"}).reason == (
        "TARGETING_MATCH"
    )
    assert not evaluate(flag, {"targetingKey": "blocked", "segment": "internal_beta"}).value
    assert evaluate(flag, {"targetingKey": "x", "segment": "internal_beta"}).reason == "SPLIT"
    zero = FlagRules(FLAG, 0, ("internal_beta",))
    assert evaluate(zero, {"targetingKey": "x", "segment": "internal_beta"}).reason == "DISABLED"


# ---- the endpoints --------------------------------------------------------------------------


def test_errors_and_status_codes(ofrep_bot: OfrepBot) -> None:
    ctx = {"context": {"targetingKey": "u1", "segment": "internal_beta"}}
    assert ofrep_bot.one(FLAG, ctx, token=None).status_code == 401
    assert ofrep_bot.one(FLAG, ctx, token="wrong").status_code == 401
    missing = ofrep_bot.one("NO_SUCH_FLAG", ctx)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "FLAG_NOT_FOUND"
    no_key = ofrep_bot.one(FLAG, {"context": {"segment": "internal_beta"}})
    assert no_key.status_code == 400 and no_key.json()["errorCode"] == "TARGETING_KEY_MISSING"
    bad = ofrep_bot.one(FLAG, b"{not json")
    assert bad.status_code == 400 and bad.json()["errorCode"] == "PARSE_ERROR"
    wrong = ofrep_bot.one(FLAG, {"context": {"targetingKey": "u1", "segment": 3}})
    assert wrong.status_code == 400 and wrong.json()["errorCode"] == "INVALID_CONTEXT"
    ok = ofrep_bot.one(FLAG, ctx)
    assert ok.status_code == 200
    assert ok.json()["key"] == FLAG and ok.json()["variant"] in {"on", "off"}


def test_closed_when_no_token_is_set(live_bot: LiveBot) -> None:
    response = live_bot.http.post(
        f"{live_bot.url}/ofrep/v1/evaluate/flags/{FLAG}",
        json={"context": {"targetingKey": "u1"}},
        headers={"Authorization": "Bearer anything"},
    )
    assert response.status_code == 401


def test_bulk_etag_304_until_a_change(ofrep_bot: OfrepBot) -> None:
    ctx = {"targetingKey": "user-7", "segment": "internal_beta"}
    first = ofrep_bot.bulk(ctx)
    assert first.status_code == 200 and first.headers["etag"]
    assert {f["key"] for f in first.json()["flags"]} == {"ADVANCED_CHECKOUT", FLAG}
    assert ofrep_bot.bulk(ctx, first.headers["etag"]).status_code == 304
    other = ofrep_bot.bulk({**ctx, "targetingKey": "user-8"}, first.headers["etag"])
    assert other.status_code == 200  # another context, another answer
    set_25(ofrep_bot)
    changed = ofrep_bot.bulk(ctx, first.headers["etag"])
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    no_key = ofrep_bot.bulk({"segment": "internal_beta"})
    assert {f["errorCode"] for f in no_key.json()["flags"]} == {"TARGETING_KEY_MISSING"}


# ---- a client no one here wrote ------------------------------------------------------------


def sdk_client(url: str) -> OpenFeatureClient:
    ofrep = pytest.importorskip("openfeature.contrib.provider.ofrep", reason="no OFREP provider")
    from openfeature import api

    provider = ofrep.OFREPProvider(
        url, headers_factory=lambda: {"Authorization": f"Bearer {OFREP_TOKEN}"}
    )
    # a loopback server: no proxy applies, and requests would read the proxy variables of
    # the whole environment again on every evaluation (a quarter of each one's time)
    provider.session.trust_env = False
    api.set_provider(provider)
    return api.get_client()


def enabled_keys(
    client: OpenFeatureClient, segment: str = "internal_beta", keys: list[str] = SAMPLE
) -> set[str]:
    from openfeature.evaluation_context import EvaluationContext

    return {
        key
        for key in keys
        if client.get_boolean_value(FLAG, False, EvaluationContext(key, {"segment": segment}))
    }


def test_python_sdk_quarter_same_monotonic_and_rollback(ofrep_bot: OfrepBot) -> None:
    """Each answer is flagd's (see SAMPLE for why 1,000 keys catch what 10,000 counted did)."""
    client = sdk_client(ofrep_bot.url)
    at_10 = enabled_keys(client)
    assert at_10 == flagd_on(SAMPLE, 10)
    assert abs(len(at_10) - 100) <= TENTH_TOLERANCE, len(at_10)
    set_25(ofrep_bot)
    at_25 = enabled_keys(client)
    assert at_25 == flagd_on(SAMPLE, 25)
    assert abs(len(at_25) - 250) <= QUARTER_TOLERANCE, len(at_25)
    assert at_10 <= at_25  # monotonic: no key enabled at 10 % is lost at 25 %
    assert enabled_keys(client, keys=SMALL) == at_25 & set(SMALL)  # the same answers
    assert enabled_keys(client, "external_beta", SMALL) == at_25 & set(SMALL)
    rollback(ofrep_bot)  # this replica's change drops the cache at once
    assert not enabled_keys(client, "external_beta", SMALL)
    assert enabled_keys(client) == at_10


def test_another_replicas_change_is_seen_within_the_cache_second(
    ofrep_bot: OfrepBot, settings: Settings, playbook: Playbook, clock: FakeClock
) -> None:
    ctx = {"targetingKey": "user-3", "segment": "external_beta"}
    etag = ofrep_bot.bulk(ctx).headers["etag"]
    other = build_services(settings, playbook, clock)  # a second replica, the same database
    other.rollout.set_flag(SRE, FLAG, "25", "internal_beta,external_beta", "from replica 2")
    started = time.monotonic()
    while (answer := ofrep_bot.bulk(ctx, etag)).status_code == 304:
        assert time.monotonic() - started < 3, "the change was not seen"
        time.sleep(0.05)
    assert answer.status_code == 200 and time.monotonic() - started < 2
    assert {f["key"]: f["reason"] for f in answer.json()["flags"]}[FLAG] == "SPLIT"
