"""/phase2 through the real app over a real socket: the backlog's approval flow with its
role checks and records, the Jira epics against a loopback Jira that checks the request's
shape, and the risk register (add, update, the matrix)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot import decision_log
from bot.clock import FakeClock
from bot.completion import ItemState
from bot.ids.phase2 import Phase2Action
from bot.local import payloads
from bot.local.fake_slack import Message
from bot.phase2 import EpicsResult
from bot.playbook import JiraSettings, Playbook, load_playbook
from bot.services import Services
from bot.settings import Settings
from storage.db import session_scope
from storage.models import BacklogEntry
from tests.conftest import GTM, PRODUCT, SRE, SUPPORT, LiveBot
from tests.sinks import HttpSink

FEATURES = [
    "LOGISTICS_TRACKING",
    "INVENTORY_MANAGEMENT",
    "SUPPLIER_INTEGRATION",
    "FULFILLMENT_OPTIMIZATION",
]
PRODUCT_CHANNEL = "#phase1-product"


@pytest.fixture
def jira() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def playbook(jira: HttpSink) -> Playbook:
    book = load_playbook()
    settings = JiraSettings(base_url=jira.url, project_key="OPS", epic_project_key="PHTWO")
    return book.model_copy(
        update={"integrations": book.integrations.model_copy(update={"jira": settings})}
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"jira_email": "bot@example.com", "jira_api_token": SecretStr("jira-token")}
    )


def reply(bot: LiveBot, text: str, user: str) -> Message:
    """The user's next ephemeral reply to `/phase2 text`."""
    seen = len(bot.fake.ephemerals(user))
    assert bot.command(text, user, command="/phase2").status_code == 200
    return bot.ephemeral_after(seen, user)


def click(bot: LiveBot, user: str, message: Message, action: str, value: str) -> None:
    """A button on an ephemeral message, its response_url tied to that message."""
    url = bot.fake.response_url(message.channel, user, message.ts)
    body = payloads.block_actions(user, message.channel, message.ts, action, value, "b", url)
    assert bot.post(body).status_code == 200


def buttons(message: Message) -> list[tuple[str, str]]:
    found = [b["accessory"] for b in message.blocks if b.get("accessory")]
    found += [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    return [(b["action_id"], b["value"]) for b in found]


def product_posts(bot: LiveBot) -> list[str]:
    return [m.text for m in bot.fake.channel_messages(PRODUCT_CHANNEL)]


def test_backlog_goes_proposed_refined_approved_with_role_checks_and_records(
    live_bot: LiveBot,
) -> None:
    backlog = reply(live_bot, "", PRODUCT)
    assert backlog.text == "Phase 2 backlog: 0 of 4 approved"
    shown = "\n".join(b.get("text", {}).get("text", "") for b in backlog.blocks)
    assert "*LOGISTICS_TRACKING* — :white_circle: proposed" in shown
    assert "Expected: Real-time tracking, delivery KPI 95 %" in shown
    assert "Owner Logistics lead · complexity high · depends on shipping_service, carrier_apis" in (
        shown
    )
    assert buttons(backlog) == [(Phase2Action.REFINE, f) for f in FEATURES]  # no epics yet

    click(live_bot, SUPPORT, backlog, Phase2Action.REFINE, "LOGISTICS_TRACKING")
    refused = live_bot.ephemeral_after(0, SUPPORT)
    assert "You may not `phase2.refine`: it needs the `product` or `sre` role" in refused.text
    early = reply(live_bot, "approve LOGISTICS_TRACKING", PRODUCT)
    assert "`LOGISTICS_TRACKING` is still proposed: it is refined before it is approved." in (
        early.text
    )
    assert "/phase2 refine LOGISTICS_TRACKING" in early.text

    click(live_bot, SRE, backlog, Phase2Action.REFINE, "LOGISTICS_TRACKING")
    live_bot.fake.wait_for(lambda f: backlog.updated == 1)  # the message the click was on
    assert buttons(backlog)[0] == (Phase2Action.APPROVE, "LOGISTICS_TRACKING")
    sre_approves = reply(live_bot, "approve logistics_tracking", SRE)
    assert "You may not `phase2.approve`: it needs the `product` role" in sre_approves.text

    click(live_bot, PRODUCT, backlog, Phase2Action.APPROVE, "LOGISTICS_TRACKING")
    live_bot.fake.wait_for(lambda f: backlog.updated == 2)
    assert backlog.text == "Phase 2 backlog: 1 of 4 approved"
    assert buttons(backlog)[0][1] == "INVENTORY_MANAGEMENT"  # approved: no button left
    live_bot.fake.wait_for(lambda f: len(product_posts(live_bot)) == 2)
    assert product_posts(live_bot) == [
        ":clipboard: <@U0SRE00001> refined *LOGISTICS_TRACKING* for Phase 2 (0 of 4 approved).",
        ":clipboard: <@U0PROD0001> approved *LOGISTICS_TRACKING* for Phase 2 (1 of 4 approved).",
    ]
    again = reply(live_bot, "approve LOGISTICS_TRACKING -- twice", PRODUCT)
    assert "`LOGISTICS_TRACKING` is already approved." in again.text
    typo = reply(live_bot, "refine LOGISTICS_TRAKING", PRODUCT)
    assert "Did you mean `LOGISTICS_TRACKING`?" in typo.text

    records = decision_log.recent(live_bot.services.engine, 10, "phase2.")
    assert [(r.action, r.actor, r.subject, r.after) for r in reversed(records)] == [
        ("phase2.refine", SRE, "LOGISTICS_TRACKING", {"status": "refined"}),
        ("phase2.approve", PRODUCT, "LOGISTICS_TRACKING", {"status": "approved"}),
    ]
    assert decision_log.verify(live_bot.services.engine).ok


def approve_all(bot: LiveBot) -> None:
    for feature in FEATURES[1:]:
        assert "is refined" in reply(bot, f"refine {feature}", SRE).text
        assert "is approved" in reply(bot, f"approve {feature} -- fits the plan", PRODUCT).text


def test_every_item_approved_ticks_the_completion_item(live_bot: LiveBot) -> None:
    completion = live_bot.services.completion

    def state() -> ItemState:
        return next(s for s in completion.states() if s.item.key == "phase2_backlog")

    reply(live_bot, f"refine {FEATURES[0]}", PRODUCT)
    reply(live_bot, f"approve {FEATURES[0]}", PRODUCT)
    assert not state().done and not state().needs_confirmation
    approve_all(live_bot)
    assert state().done
    assert state().evidence[0] == ("4 of 4 backlog items approved",)
    last = live_bot.fake.wait_for(
        lambda f: (p := product_posts(live_bot)) and "4 of 4" in p[-1] and p[-1]
    )
    assert last.endswith(
        "(4 of 4 approved).\n>fits the plan\n:tada: The Phase 2 backlog is approved: every item."
    )


def test_create_epics_opens_one_jira_epic_per_approved_item(
    live_bot: LiveBot, jira: HttpSink, clock: FakeClock
) -> None:
    refused = reply(live_bot, "epics", PRODUCT)
    assert "No approved item is waiting for an epic (4 not approved yet)." in refused.text
    reply(live_bot, f"refine {FEATURES[0]}", PRODUCT)
    reply(live_bot, f"approve {FEATURES[0]}", PRODUCT)
    backlog = reply(live_bot, "", PRODUCT)
    assert buttons(backlog)[-1] == (Phase2Action.EPICS, "epics")
    click(live_bot, GTM, backlog, Phase2Action.EPICS, "epics")
    assert "You may not `phase2.epics`" in live_bot.ephemeral_after(0, GTM).text
    assert jira.hits == []

    click(live_bot, PRODUCT, backlog, Phase2Action.EPICS, "epics")
    created = live_bot.fake.wait_for(
        lambda f: [m for m in f.ephemerals(PRODUCT) if "epics created" in m.text]
    )[0]
    assert len(jira.hits) == 1
    hit = jira.hits[0]
    token = base64.b64encode(b"bot@example.com:jira-token").decode()
    assert (hit.path, hit.headers["Authorization"]) == ("/rest/api/3/issue", f"Basic {token}")
    fields = hit.body["fields"]
    assert fields["project"] == {"key": "PHTWO"} and fields["issuetype"] == {"name": "Epic"}
    assert fields["summary"] == "LOGISTICS_TRACKING: Real-time tracking, delivery KPI 95 %"
    assert fields["labels"] == ["warroom", "phase2"] and "priority" not in fields
    paragraphs = [p["content"][0]["text"] for p in fields["description"]["content"]]
    assert paragraphs[1:5] == [
        "Expected result: Real-time tracking, delivery KPI 95 %",
        "Dependencies: shipping_service, carrier_apis",
        "Technical owner: Logistics lead",
        "Complexity: high",
    ]
    assert f"<{jira.url}/browse/PHTWO-101|PHTWO-101>" in created.text
    live_bot.fake.wait_for(lambda f: backlog.updated == 1)  # the backlog shows the epic
    assert f"epic <{jira.url}/browse/PHTWO-101|PHTWO-101>" in backlog.blocks[2]["text"]["text"]
    assert (Phase2Action.EPICS, "epics") not in buttons(backlog)

    again = reply(live_bot, "epics", PRODUCT)  # nothing left: Jira is not asked again
    assert "No approved item is waiting for an epic (3 not approved yet)." in again.text
    assert len(jira.hits) == 1
    [record] = decision_log.recent(live_bot.services.engine, 1, "phase2.epic")
    assert (record.subject, record.after["key"]) == ("LOGISTICS_TRACKING", "PHTWO-101")


def test_a_jira_failure_stops_the_epics_and_is_recorded(live_bot: LiveBot, jira: HttpSink) -> None:
    for feature in FEATURES[:2]:
        reply(live_bot, f"refine {feature}", PRODUCT)
        reply(live_bot, f"approve {feature}", PRODUCT)
    jira.fail["/rest/api/3/issue"] = [500]
    failed = reply(live_bot, "epics", PRODUCT)
    assert "No epic was created: LOGISTICS_TRACKING: Jira answered 500: Internal server error" in (
        failed.text
    )
    assert len(jira.hits) == 1  # it stopped at the first failure
    [record] = decision_log.recent(live_bot.services.engine, 1, "phase2.epic")
    assert (record.outcome, record.subject) == ("failed", "LOGISTICS_TRACKING")
    done = reply(live_bot, "epics", PRODUCT)  # the claim was released: both are made now
    assert "Jira epics created: 2" in done.text
    keys = [v.epic_key for v in live_bot.services.backlog.items()][:2]
    assert keys == ["PHTWO-101", "PHTWO-102"]


def test_link_an_epic_by_hand(live_bot: LiveBot) -> None:
    url = "https://tracker.example.com/browse/LOG-7"
    linked = reply(live_bot, f"link INVENTORY_MANAGEMENT <{url}>", PRODUCT)
    assert linked.text == f"Done: *INVENTORY_MANAGEMENT* is linked to its epic <{url}|LOG-7>."
    bad = reply(live_bot, "link INVENTORY_MANAGEMENT tracker/LOG-7", PRODUCT)
    assert "`tracker/LOG-7` is not a link" in bad.text


def test_risk_register_defaults_add_update_and_matrix(live_bot: LiveBot) -> None:
    register = reply(live_bot, "risks", SUPPORT)  # anyone may read it
    text = "\n".join(b.get("text", {}).get("text", "") for b in register.blocks)
    assert "likelihood ↓  impact → low     medium  high\n" in text
    assert "high                   ·       ·       R1\n" in text
    assert (
        "🔴 R1 External dependencies (carrier APIs, suppliers) — likelihood high, impact high "
        "· owner product · mitigation: Move agreements and sandbox access forward early"
    ) in text

    added = reply(
        live_bot,
        "risk add Carrier sandbox late likelihood=low impact: high owner=<@U0SRE00002|sre2> "
        "mitigation=“ask the carriers this week”",
        SRE,
    )
    assert added.text == (
        "Done: added 🟠 R4 Carrier sandbox late — likelihood low, impact high · owner U0SRE00002 "
        "· mitigation: ask the carriers this week"
    )
    refused = reply(live_bot, "risk add Budget likelihood=high impact=high owner=sre", SUPPORT)
    assert "You may not `phase2.risk`" in refused.text
    missing = reply(live_bot, "risk add Budget likelihood=high", PRODUCT)
    assert "A risk needs a title, its likelihood, its impact and an owner." in missing.text
    level = reply(live_bot, "risk update R4 likelihood=sometimes", PRODUCT)
    assert "`sometimes` is not a likelihood: say low, medium or high." in level.text
    owner = reply(live_bot, "risk update R4 owner=finance", PRODUCT)
    assert "`finance` is not an owner I know" in owner.text

    updated = reply(live_bot, "risk update r2 likelihood=low status=closed", PRODUCT)
    assert updated.text.startswith(
        "Done: R2 updated (likelihood medium → low, status open → closed)."
    )
    register = reply(live_bot, "risks", SUPPORT)
    text = "\n".join(b.get("text", {}).get("text", "") for b in register.blocks)
    assert "high                   ·       ·       R1\n" in text
    assert "low                    ·       ·       R4```" in text  # R2 is closed: off the grid
    assert "✔️ R2 Team capacity (closed) — likelihood low, impact high" in text
    records = decision_log.recent(live_bot.services.engine, 5, "phase2.risk")
    assert [(r.action, r.subject, r.actor) for r in reversed(records)] == [
        ("phase2.risk.add", "R4", SRE),
        ("phase2.risk.update", "R2", PRODUCT),
    ]
    assert records[0].before == {"likelihood": "medium", "status": "open"}


def test_the_daily_report_shows_the_risk_register(live_bot: LiveBot, clock: FakeClock) -> None:
    services = live_bot.services
    services.risks.update(PRODUCT, "R3", "impact=high")
    figures = services.reports.daily_figures(clock.now().date())
    from bot.reports import render

    lines = render.markdown(figures, services.playbook.zone).splitlines()
    start = lines.index("## Phase 2 risk register")
    assert lines[start + 1 : start + 10] == [
        "",
        "```",
        "likelihood ↓  impact → low     medium  high",
        "high                   ·       ·       R1",
        "medium                 ·       ·       R2 R3",
        "low                    ·       ·       ·",
        "```",
        "",
        "- 🔴 R1 External dependencies (carrier APIs, suppliers) — likelihood high, impact high "
        "· owner product · mitigation: Move agreements and sandbox access forward early",
    ]


def test_two_callers_make_one_epic_and_a_dead_callers_claim_is_taken_over(
    services: Services, jira: HttpSink, clock: FakeClock
) -> None:
    backlog = services.backlog
    for feature in FEATURES[:2]:
        backlog.refine(SRE, feature)
        backlog.approve(PRODUCT, feature)
    gate = threading.Event()
    jira.hold = gate  # Jira is slow to answer the first request
    first: list[EpicsResult] = []
    caller = threading.Thread(target=lambda: first.append(backlog.create_epics(PRODUCT)))
    caller.start()
    deadline = time.monotonic() + 10
    while not jira.hits and time.monotonic() < deadline:  # the first request has reached Jira
        time.sleep(0.01)
    second = backlog.create_epics(PRODUCT)  # the first item is claimed: the second is its own
    gate.set()
    caller.join(10)
    assert [v.item.feature for v in second.created] == ["INVENTORY_MANAGEMENT"]
    assert [v.item.feature for v in first[0].created] == ["LOGISTICS_TRACKING"]
    summaries = sorted(h.body["fields"]["summary"].split(":")[0] for h in jira.hits)
    assert summaries == ["INVENTORY_MANAGEMENT", "LOGISTICS_TRACKING"]  # one epic each

    backlog.refine(SRE, FEATURES[2])
    backlog.approve(PRODUCT, FEATURES[2])
    with session_scope(services.engine) as session:  # a caller that died holding its claim
        row = session.exec(select(BacklogEntry).where(BacklogEntry.feature == FEATURES[2])).one()
        row.epic_claimed_at = clock.now()
        session.add(row)
    assert backlog.create_epics(PRODUCT).created == []
    clock.advance(timedelta(minutes=6))
    assert [v.epic_key for v in backlog.create_epics(PRODUCT).created] == ["PHTWO-103"]
