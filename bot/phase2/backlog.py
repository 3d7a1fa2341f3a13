"""The Phase 2 backlog: the playbook's features, each proposed → refined → approved by the
roles the playbook grants (`phase2.refine`, `phase2.approve`), every change a decision; and
one Jira epic per approved item, claimed first so two clicks open one epic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.integrations import IntegrationError
from bot.playbook import BacklogItem, Playbook
from bot.rollout.inputs import closest
from bot.transitions import transition
from storage.db import session_scope
from storage.models import BacklogEntry
from storage.status import BacklogStatus
from storage.writes import rows_changed

CLAIM_FOR = timedelta(minutes=5)  # an epic claim older than this was left by a dead caller
EPIC = "phase2.epic"
# (summary, description paragraphs) → (key, browse URL); raises IntegrationError
EpicMaker = Callable[[str, list[str]], tuple[str, str]]


@dataclass(frozen=True)
class ItemView:
    """A backlog item of the playbook with its state."""

    item: BacklogItem
    id: int
    status: BacklogStatus
    epic_key: str
    epic_url: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class EpicsResult:
    created: list[ItemView]
    linked_before: list[ItemView]  # approved items that already had an epic
    not_approved: list[str]  # features still waiting for approval
    failed: str = ""  # why it stopped: the feature and what Jira said


class BacklogNotifier(Protocol):
    """Tells the playbook's Phase 2 channel; failures are logged, never raised."""

    def status_changed(
        self, view: ItemView, actor: str, note: str, approved: int, total: int
    ) -> None: ...

    def epics_created(self, result: EpicsResult, actor: str) -> None: ...


class BacklogService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        notifier: BacklogNotifier,
        make_epic: EpicMaker | None,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.notifier = notifier
        self.make_epic = make_epic

    # ---- reading -------------------------------------------------------------------------
    def seed(self) -> None:
        """A row per feature of the playbook, proposed (replicas may race: one row wins)."""
        with Session(self.engine) as session:
            present = set(session.exec(select(BacklogEntry.feature)))
        for item in self.playbook.phase2.backlog:
            if item.feature in present:
                continue
            try:
                with session_scope(self.engine) as session:
                    session.add(BacklogEntry(feature=item.feature, updated_at=self.clock.now()))
            except IntegrityError:
                pass  # another replica seeded it

    def items(self) -> list[ItemView]:
        """The playbook's items, in its order, with their state."""
        with Session(self.engine) as session:
            rows = {r.feature: r for r in session.exec(select(BacklogEntry))}
        if any(i.feature not in rows for i in self.playbook.phase2.backlog):
            self.seed()
            return self.items()
        return [self._view(item, rows[item.feature]) for item in self.playbook.phase2.backlog]

    def item(self, feature: str) -> ItemView:
        known = [i.feature for i in self.playbook.phase2.backlog]
        if not known:
            raise Refusal("The playbook lists no Phase 2 backlog (phase2.backlog).")
        name = feature.strip().upper()
        view = next((v for v in self.items() if v.item.feature == name), None)
        if view is None:
            guess = closest(name, known)
            raise Refusal(
                f"`{feature}` is not in the Phase 2 backlog. "
                f"Known: {', '.join(f'`{k}`' for k in known)}.",
                f"Did you mean `{guess}`?" if guess else "`/phase2` lists the backlog.",
            )
        return view

    def progress(self) -> tuple[int, int]:
        """(approved, total)."""
        views = self.items()
        return sum(v.status == BacklogStatus.APPROVED for v in views), len(views)

    @staticmethod
    def _view(item: BacklogItem, row: BacklogEntry) -> ItemView:
        return ItemView(
            item,
            row.id or 0,
            BacklogStatus(row.status),
            row.epic_key,
            row.epic_url,
            row.updated_by,
            row.updated_at,
        )

    # ---- the approval flow ---------------------------------------------------------------
    def refine(self, user: str, feature: str, note: str = "") -> ItemView:
        return self._move(user, feature, "phase2.refine", BacklogStatus.REFINED, note)

    def approve(self, user: str, feature: str, note: str = "") -> ItemView:
        return self._move(user, feature, "phase2.approve", BacklogStatus.APPROVED, note)

    def _move(self, user: str, feature: str, action: str, to: BacklogStatus, note: str) -> ItemView:
        self.authz.require(user, action)
        view = self.item(feature)
        before = BacklogStatus.PROPOSED if to == BacklogStatus.REFINED else BacklogStatus.REFINED
        now = self.clock.now()
        moved = transition(
            self.engine,
            BacklogEntry,
            view.id,
            allowed={before},
            values={"status": to, "updated_at": now, "updated_by": user},
            at=now,
            decision=Decision(
                actor=user,
                action=action,
                subject=view.item.feature,
                before={"status": before},
                after={"status": to},
                reason=note,
            ),
        )
        if not moved:
            raise self._refusal(self.item(feature), to)
        after = self.item(feature)
        approved, total = self.progress()
        self.notifier.status_changed(after, user, note, approved, total)
        return after

    @staticmethod
    def _refusal(view: ItemView, to: BacklogStatus) -> Refusal:
        name = view.item.feature
        if view.status == to or view.status == BacklogStatus.APPROVED:
            return Refusal(f"`{name}` is already {view.status}.", "`/phase2` shows the backlog.")
        return Refusal(
            f"`{name}` is still {view.status}: it is refined before it is approved.",
            f"Refine it first: `/phase2 refine {name}`.",
        )

    # ---- epics ---------------------------------------------------------------------------
    def create_epics(self, user: str) -> EpicsResult:
        """One epic per approved item without one; stops at the first Jira failure (the rest
        would fail alike) and says why. Items another caller is creating are left to it."""
        self.authz.require(user, "phase2.epics")
        if self.make_epic is None:
            raise Refusal(
                "Jira is not configured (integrations.jira in the playbook): no epic can be made.",
                "Link an existing epic by hand: `/phase2 link FEATURE URL`.",
            )
        views = self.items()
        todo = [v for v in views if v.status == BacklogStatus.APPROVED and not v.epic_key]
        waiting = [v.item.feature for v in views if v.status != BacklogStatus.APPROVED]
        if not todo:
            raise Refusal(
                "No approved item is waiting for an epic"
                + (f" ({len(waiting)} not approved yet)." if waiting else "."),
                "`/phase2` shows the backlog and its epics.",
            )
        created, failed = [], ""
        for view in todo:
            if not self._claim(view.id):
                continue  # another click is creating it
            try:
                key, url = self.make_epic(*self._epic_text(view))
            except IntegrationError as exc:
                self._release(view, user, exc.message)
                failed = f"{view.item.feature}: {exc.message}"
                break
            self._store_epic(view, user, key, url, by_hand=False)
            created.append(self.item(view.item.feature))
        done = [v for v in views if v.epic_key]
        result = EpicsResult(created, done, waiting, failed)
        if created:
            self.notifier.epics_created(result, user)
        return result

    def link_epic(self, user: str, feature: str, url: str) -> ItemView:
        """An epic made elsewhere, linked by hand (no Jira integration, or another tracker)."""
        self.authz.require(user, "phase2.epics")
        view = self.item(feature)
        url = url.strip().strip("<>").split("|")[0]
        if not url.startswith(("https://", "http://")):
            raise Refusal(
                f"`{url}` is not a link: give the epic's https:// address.",
                f"Try `/phase2 link {view.item.feature} https://jira.example.com/browse/OPS-7`.",
            )
        tail = url.rstrip("/").rsplit("/", 1)[-1]
        key = tail if tail.replace("-", "").isalnum() and "-" in tail else "epic"
        self._store_epic(view, user, key[:32], url, by_hand=True)
        return self.item(view.item.feature)

    def _epic_text(self, view: ItemView) -> tuple[str, list[str]]:
        item = view.item
        return f"{item.feature}: {item.expected}", [
            f"Phase 2 backlog item {item.feature}, approved in the war room "
            f"({self.playbook.name}).",
            f"Expected result: {item.expected}",
            f"Dependencies: {', '.join(item.dependencies) or 'none'}",
            f"Technical owner: {item.owner}",
            f"Complexity: {item.complexity}",
            f"Approved by Slack user {view.updated_by} on {view.updated_at:%Y-%m-%d}.",
        ]

    def _claim(self, row_id: int) -> bool:
        now = self.clock.now()
        table: Any = BacklogEntry
        with session_scope(self.engine) as session:
            result = rows_changed(
                session,
                update(BacklogEntry)
                .where(
                    table.id == row_id,
                    table.status == BacklogStatus.APPROVED,
                    table.epic_key == "",
                    or_(
                        col(BacklogEntry.epic_claimed_at).is_(None),
                        table.epic_claimed_at < now - CLAIM_FOR,
                    ),
                )
                .values(epic_claimed_at=now),
            )
            return bool(result)

    def _store_epic(self, view: ItemView, user: str, key: str, url: str, by_hand: bool) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(BacklogEntry, view.id)
            assert row is not None
            before = {"key": row.epic_key, "url": row.epic_url} if row.epic_key else None
            row.epic_key, row.epic_url, row.epic_claimed_at = key, url, None
            session.add(row)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action=EPIC,
                    subject=view.item.feature,
                    before=before,
                    after={"key": key, "url": url},
                    evidence={"by_hand": by_hand},
                ),
                now,
            )

    def _release(self, view: ItemView, user: str, why: str) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(BacklogEntry, view.id)
            assert row is not None
            row.epic_claimed_at = None
            session.add(row)
            decision_log.append_in(
                session,
                Decision(
                    actor=user, action=EPIC, subject=view.item.feature, reason=why, outcome="failed"
                ),
                now,
            )
