"""The Phase 2 risk register: the playbook's risks as defaults, people add and update them
(`phase2.risk`), every change a decision; shown as a likelihood × impact matrix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.playbook import LEVELS, SLACK_MEMBER, Playbook
from storage.db import session_scope
from storage.models import Risk
from storage.status import RiskStatus

FIELDS = ("title", "likelihood", "impact", "owner", "mitigation", "status")
_FIELD = re.compile(r"(?:^|\s)(" + "|".join(FIELDS) + r")\s*[=:]\s*", re.IGNORECASE)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
LEVEL_ALIASES = {"l": "low", "m": "medium", "med": "medium", "h": "high"}
MARK = {6: "🔴", 9: "🔴", 3: "🟠", 4: "🟠", 1: "🟢", 2: "🟢"}  # by likelihood × impact
EXAMPLE = (
    "`/phase2 risk add Carrier sandbox late likelihood=high impact=high owner=product "
    "mitigation=ask for sandbox access now`"
)


class RiskLike(Protocol):
    """A risk as the matrix and its lines read it: a row, or a report's copy of one."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def likelihood(self) -> str: ...
    @property
    def impact(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def mitigation(self) -> str: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class RiskRow:
    """A risk as a report keeps it (its figures are stored as JSON)."""

    id: int
    title: str
    likelihood: str
    impact: str
    owner: str
    mitigation: str
    status: str

    @classmethod
    def of(cls, risk: RiskLike) -> RiskRow:
        return cls(
            risk.id or 0,
            risk.title,
            risk.likelihood,
            risk.impact,
            risk.owner,
            risk.mitigation,
            risk.status,
        )


def register(engine: Engine) -> list[Risk]:
    """Every risk, open ones first, the most severe first, then by number."""
    with Session(engine) as session:
        rows = list(session.exec(select(Risk).order_by(col(Risk.id))))
    return sorted(rows, key=lambda r: (r.status != RiskStatus.OPEN, -score(r), r.id or 0))


@dataclass(frozen=True)
class RiskChange:
    risk: Risk
    changed: dict[str, tuple[str, str]]  # field → (before, after)


def parse_fields(text: str) -> tuple[str, dict[str, str]]:
    """`Carrier APIs likelihood=high owner: sre mitigation=early sandbox` → the words before
    the first field, and each field's value up to the next field (quotes stripped)."""
    parts = _FIELD.split(text.strip())
    lead, fields = parts[0].strip(), {}
    for name, value in zip(parts[1::2], parts[2::2], strict=True):
        fields[name.lower()] = value.strip().strip("\"'“”‘’").strip()
    return lead.strip("\"'“”‘’").strip(), fields


def score(risk: RiskLike) -> int:
    return (LEVELS.index(risk.likelihood) + 1) * (LEVELS.index(risk.impact) + 1)


def risk_line(risk: RiskLike) -> str:
    """`🔴 R1 External dependencies — likelihood high, impact high · owner product ·
    mitigation: …` (closed risks say so). Plain text: the caller escapes for Slack."""
    mark = "✔️" if risk.status == RiskStatus.CLOSED else MARK[score(risk)]
    closed = " (closed)" if risk.status == RiskStatus.CLOSED else ""
    mitigation = f" · mitigation: {risk.mitigation}" if risk.mitigation else ""
    return (
        f"{mark} R{risk.id} {risk.title}{closed} — likelihood {risk.likelihood}, "
        f"impact {risk.impact} · owner {risk.owner}{mitigation}"
    )


def matrix_lines(risks: Sequence[RiskLike]) -> list[str]:
    """The open risks on a likelihood × impact grid, high likelihood first, for a
    monospaced block: each cell lists its risks' numbers."""
    cells: dict[tuple[str, str], list[str]] = {}
    for risk in risks:
        if risk.status == RiskStatus.OPEN:
            cells.setdefault((risk.likelihood, risk.impact), []).append(f"R{risk.id}")
    width = max([8, *(len(" ".join(v)) + 2 for v in cells.values())])
    header = "likelihood ↓  impact → " + "".join(level.ljust(width) for level in LEVELS)
    lines = [header.rstrip()]
    for likelihood in reversed(LEVELS):
        row = "".join(
            (" ".join(cells.get((likelihood, impact), [])) or "·").ljust(width) for impact in LEVELS
        )
        lines.append(f"{likelihood:<23}{row}".rstrip())
    return lines


class RiskService:
    def __init__(self, engine: Engine, playbook: Playbook, clock: Clock, authz: Authorizer) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz

    def seed(self) -> None:
        """The playbook's risks, once each (by key): later edits are people's, not reset."""
        with Session(self.engine) as session:
            present = set(session.exec(select(Risk.key)))
        for default in self.playbook.phase2.risks:
            if default.key in present:
                continue
            row = Risk(
                key=default.key,
                **default.model_dump(exclude={"key"}),
                updated_at=self.clock.now(),
                updated_by="warroom",
            )
            try:
                with session_scope(self.engine) as session:
                    session.add(row)
            except IntegrityError:
                pass  # another replica seeded it

    def risks(self) -> list[Risk]:
        return register(self.engine)

    def add(self, user: str, text: str) -> Risk:
        self.authz.require(user, "phase2.risk")
        title, fields = parse_fields(text)
        title = fields.pop("title", title)
        if not title or not {"likelihood", "impact", "owner"} <= set(fields):
            raise Refusal(
                "A risk needs a title, its likelihood, its impact and an owner.", f"Try {EXAMPLE}."
            )
        values = self._checked(fields)
        now = self.clock.now()
        with session_scope(self.engine) as session:
            risk = Risk(
                title=self._title(title),
                likelihood=values["likelihood"],
                impact=values["impact"],
                owner=values["owner"],
                mitigation=values.get("mitigation", ""),
                status=values.get("status", RiskStatus.OPEN),
                updated_at=now,
                updated_by=user,
            )
            session.add(risk)
            session.flush()
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action="phase2.risk.add",
                    subject=f"R{risk.id}",
                    after={name: str(getattr(risk, name)) for name in FIELDS},
                ),
                now,
            )
            session.refresh(risk)
            return risk

    def update(self, user: str, ref: str, text: str) -> RiskChange:
        self.authz.require(user, "phase2.risk")
        lead, fields = parse_fields(text)
        if lead or not fields:
            raise Refusal(
                "Say which fields change, as `field=value`: "
                f"{', '.join(FIELDS)}." + (f" (`{lead}` is not one.)" if lead else ""),
                "Try `/phase2 risk update R2 likelihood=low mitigation=sandbox signed`.",
            )
        values = self._checked(fields)
        if "title" in values:
            values["title"] = self._title(values["title"])
        now = self.clock.now()
        with session_scope(self.engine) as session:
            risk = self._find(session, ref)
            changed = {
                k: (str(getattr(risk, k)), v) for k, v in values.items() if getattr(risk, k) != v
            }
            if not changed:
                raise Refusal(f"R{risk.id} already says that; nothing changed.")
            for name, (_, value) in changed.items():
                setattr(risk, name, value)
            risk.updated_at, risk.updated_by = now, user
            session.add(risk)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action="phase2.risk.update",
                    subject=f"R{risk.id}",
                    before={k: b for k, (b, _) in changed.items()},
                    after={k: a for k, (_, a) in changed.items()},
                ),
                now,
            )
            session.flush()
            session.refresh(risk)
            return RiskChange(risk, changed)

    # ---- reading what people typed -------------------------------------------------------
    def _find(self, session: Session, ref: str) -> Risk:
        number = ref.strip().upper().removeprefix("R")
        risk = session.get(Risk, int(number)) if number.isdigit() else None
        if risk is None:
            risk = session.exec(select(Risk).where(Risk.key == ref.strip().lower())).first()
        if risk is None:
            raise Refusal(
                f"There is no risk `{ref}`.", "`/phase2 risks` lists the register with numbers."
            )
        return risk

    @staticmethod
    def _title(title: str) -> str:
        if len(title) > 200:
            raise Refusal(f"A risk's title is at most 200 characters (this is {len(title)}).")
        return title

    def _checked(self, fields: dict[str, str]) -> dict[str, str]:
        values = dict(fields)
        for name in ("likelihood", "impact"):
            if name in values:
                level = LEVEL_ALIASES.get(values[name].lower(), values[name].lower())
                if level not in LEVELS:
                    raise Refusal(
                        f"`{values[name]}` is not a {name}: say low, medium or high.",
                        f"Try `{name}=high`.",
                    )
                values[name] = level
        if "owner" in values:
            values["owner"] = self._owner(values["owner"])
        if "status" in values:
            status = values["status"].lower()
            if status not in tuple(RiskStatus):
                raise Refusal(f"`{values['status']}` is not a risk status: say open or closed.")
            values["status"] = status
        return values

    def _owner(self, text: str) -> str:
        mention = _MENTION.match(text.strip())
        owner = mention.group(1) if mention else text.strip().lstrip("@")
        if owner.lower() in self.playbook.roles:
            return owner.lower()
        if SLACK_MEMBER.match(owner) and not owner.startswith("S"):
            return owner
        roles = ", ".join(f"`{r}`" for r in self.playbook.roles)
        raise Refusal(
            f"`{text}` is not an owner I know: name a role ({roles}) or mention a person.",
            "Try `owner=product` or `owner=@someone`.",
        )
