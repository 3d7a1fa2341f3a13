"""The rules of a rollback request, pure: which status may follow which, who may sign off
in which role, what a request, a severity and a runbook version are.

Rules (playbook `rollback`): one member of each sign-off role (product, support) approves;
they are distinct people and neither is the requester; either may reject with a reason; an
open request expires. A member of `rollback.break_glass` (sre, oncall) may execute at once
while the request is critical; the sign-offs are still collected afterwards.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Collection
from datetime import datetime

from bot.errors import Refusal
from bot.playbook import Playbook
from bot.rollback.model import RequestView
from bot.rollout import unknown_flag
from storage.models import RollbackRequest, RunbookSignature
from storage.status import RollbackStatus

Status = RollbackStatus

# status → the statuses it may move to; every transition of a request is one of these
TRANSITIONS: dict[RollbackStatus, frozenset[RollbackStatus]] = {
    Status.OPEN: frozenset({Status.APPROVED, Status.EXECUTING, Status.REJECTED, Status.EXPIRED}),
    Status.APPROVED: frozenset({Status.EXECUTING}),
    Status.EXECUTING: frozenset({Status.DONE, Status.FAILED}),
    Status.FAILED: frozenset({Status.EXECUTING}),
    Status.DONE: frozenset(),
    Status.REJECTED: frozenset(),
    Status.EXPIRED: frozenset(),
}
SEVERITIES = range(1, 6)
CRITICAL_SEVERITY = 2  # Sev2 or worse allows break glass unless a trigger says otherwise


def sources(target: RollbackStatus) -> list[RollbackStatus]:
    """The statuses a request may be in to move to `target` (a transition's `allowed`)."""
    return [status for status, follows in TRANSITIONS.items() if target in follows]


ALL_FLAGS = "all"
FLAG_LIKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # SMART_PRICNG, CHECKOUT_V2
NAME = re.compile(r"[A-Za-z0-9_]+")
WORDS = re.compile(r"[\w %.,:;!?'()/+-]*")  # a reason echoed in a refusal: no markup
NEAR_A_FLAG = 0.8  # smart_pricng, SMARTPRICING; not "checkout" (0.64 to ADVANCED_CHECKOUT)


def parse_request(words: list[str], known_flags: Collection[str]) -> tuple[list[str], str]:
    """`words` as typed after /rollback: the flags (leading flag names; `all` or none named:
    every flag, in the playbook's order), then the reason. A leading word that looks like a
    flag name but is none (ALL_CAPS_WITH_UNDERSCORES, or close to a known name) is refused
    with the closest name, as /rollout does, rather than rolling back every flag with the
    typo as the reason."""
    known = list(known_flags)
    rest = list(words)
    flags: list[str] = []
    if rest and rest[0].lower() == ALL_FLAGS:
        rest.pop(0)
    else:
        while rest and (rest[0].upper() in known or _flag_like(rest[0], known)):
            word = rest.pop(0)
            if word.upper() not in known:
                raise _unknown_flag(word, flags, " ".join(rest), known)
            flags.append(word.upper())
    reason = " ".join(rest).strip()
    if not reason:
        raise Refusal(
            "Say why you ask for a rollback.",
            "Try `/rollback SMART_PRICING checkout errors at 5 %` (`all`, or no flag: every "
            "launch flag).",
        )
    return list(dict.fromkeys(flags)) or known, reason


def _unknown_flag(word: str, flags: list[str], reason: str, known: list[str]) -> Refusal:
    """/rollout's refusal of an unknown flag, with the /rollback command to type instead
    (the reason echoed only when it carries no markup)."""
    said = reason if reason and WORDS.fullmatch(reason) else "REASON"
    return unknown_flag(word, known, lambda f: " ".join(["/rollback", *flags, f, said])[:120])


def _flag_like(word: str, known: list[str]) -> bool:
    if FLAG_LIKE.fullmatch(word):
        return True
    if not NAME.fullmatch(word):
        return False  # punctuation or markup: part of the reason, escaped where it is shown
    upper = word.upper()
    return any(
        difflib.SequenceMatcher(None, upper, k.upper()).ratio() >= NEAR_A_FLAG for k in known
    )


ID_MAX = 2**31 - 1  # the largest id a row can have (a 32-bit column on every backend)


def parse_request_id(text: object) -> int:
    """A request number from anything a person or a payload carries (`3`, `#3`): every
    value from a button, a form's metadata or a command goes through here, so a tampered
    one (`abc`, empty, 10^23) gets this listed refusal, never a crash."""
    raw = str(text if text is not None else "").strip().lstrip("#")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= ID_MAX:
        shown = raw[:20] or "(nothing)"
        raise Refusal(
            f"`{shown}` is not a rollback request number.",
            "Nothing was changed. `/rollback status` lists the requests and their numbers.",
        )
    return int(raw)


REASON_MAX = 500  # the reject form's limit, held here too: a forged payload is no form


def parse_reason(text: str) -> str:
    """A reject reason: said, and no longer than the form allows."""
    reason = text.strip()
    if not reason:
        raise Refusal("Say why you reject the rollback.", "The reason goes in the record.")
    if len(reason) > REASON_MAX:
        raise Refusal(
            f"The reason is {len(reason):,} characters long; {REASON_MAX} at most.",
            "Nothing was changed. Say it shorter; details go in the request's thread.",
        )
    return reason


def is_due(request: RollbackRequest, now: datetime) -> bool:
    return request.status == Status.OPEN and request.expires_at <= now


def require_signable(request: RollbackRequest, local: Callable[[datetime], str]) -> None:
    """A request can still be signed unless it expired or was rejected."""
    if request.status == Status.EXPIRED:
        raise Refusal(
            f"Rollback request #{request.id} expired at {local(request.expires_at)} without "
            "both sign-offs.",
            "Open a new one with `/rollback REASON` if it is still needed.",
        )
    if request.status == Status.REJECTED:
        raise Refusal(
            f"Rollback request #{request.id} was rejected: {request.closed_reason}",
            "Open a new one with `/rollback REASON` if it is still needed.",
        )


def sign_off_role(view: RequestView, user: str, user_roles: Collection[str]) -> str:
    """The role `user` signs this request in, or why they cannot."""
    roles = [r for r in view.sign_off_roles if r in user_roles]
    if not roles:
        needed = " or ".join(f"`{r}`" for r in view.sign_off_roles)
        raise Refusal(
            f"Only a member of {needed} can sign off a rollback.",
            "Ask the product and support leads in the channel.",
        )
    if view.request.requested_by == user:
        raise Refusal(
            "You asked for this rollback, so you cannot sign it off too.",
            "Two other people sign: one of each sign-off role.",
        )
    if any(a.user == user for a in view.approvals):
        raise Refusal(
            "You have already signed this request; the other sign-off must come from someone else.",
            "",
        )
    free = [r for r in roles if view.approval_for(r) is None]
    if not free:
        signer = view.approval_for(roles[0])
        raise Refusal(
            f"The `{roles[0]}` sign-off is already given by <@{signer.user if signer else '?'}>.",
            "Nothing was changed.",
        )
    return free[0]


def refuse_approval(
    outcome: str, role: str, view: RequestView, local: Callable[[datetime], str]
) -> None:
    """Why an approval did not go in (RequestStore.approve's outcome), as it is now."""
    if outcome == "signed":
        signer = view.approval_for(role)
        raise Refusal(
            f"The `{role}` sign-off was just given by <@{signer.user if signer else '?'}>.",
            "Nothing was changed.",
        )
    if outcome == "already":
        raise Refusal(
            "You have already signed this request; the other sign-off must come from someone else.",
            "",
        )
    require_signable(view.request, local)  # closed: expired or rejected meanwhile


def require_break_glass(request: RollbackRequest) -> None:
    if not request.critical:
        raise Refusal(
            "Break glass works only while a critical trigger fires or a Sev2+ incident is "
            "declared on this request.",
            f"Declare it with `/rollback incident {request.id} 2`, or collect the two sign-offs.",
        )
    if request.status != Status.OPEN:
        raise Refusal(
            f"Rollback request #{request.id} is already {request.status}.", "Nothing was changed."
        )


def parse_severity(text: str, request_id: int | None) -> int:
    digits = text.lower().removeprefix("sev")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 1:
        digits = "0"
    if int(digits) not in SEVERITIES:
        example = f"{request_id} 2" if request_id else "2 checkout down for every user"
        raise Refusal(
            f"`{text[:20]}` is not a severity from {SEVERITIES[0]} to {SEVERITIES[-1]}.",
            f"Try `/rollback incident {example}`.",
        )
    return int(digits)


def incident_trigger(playbook: Playbook) -> str:
    """The playbook's incident trigger (the one that fires on a severity), by name."""
    return next((t.name for t in playbook.triggers if t.incident_severity_at_most), "incident")


def is_critical(severity: int, playbook: Playbook) -> bool:
    """As bad as the worst incident severity a trigger fires on."""
    worst = min(
        (t.incident_severity_at_most for t in playbook.triggers if t.incident_severity_at_most),
        default=CRITICAL_SEVERITY,
    )
    return severity <= worst


# ---- the runbook's joint sign-off ----------------------------------------------------------
def plan_version(playbook: Playbook) -> str:
    text = json.dumps(playbook.rollback.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_role(
    playbook: Playbook,
    user: str,
    user_roles: Collection[str],
    version: str,
    signatures: list[RunbookSignature],
) -> str:
    """The role `user` signs this runbook version in, or why they cannot."""
    if version != plan_version(playbook):
        raise Refusal(
            "The runbook changed since this message was posted; that version can no longer "
            "be signed.",
            "Run `/rollback plan` for the current one.",
        )
    roles = [r for r in playbook.rollback.sign_off_roles if r in user_roles]
    if not roles:
        needed = " and ".join(f"`{r}`" for r in playbook.rollback.sign_off_roles)
        raise Refusal(f"The runbook is signed jointly by {needed}.", "")
    signed = {s.role: s for s in signatures}
    if any(s.user == user for s in signed.values()):
        raise Refusal("You have already signed this version of the runbook.", "")
    free = [r for r in roles if r not in signed]
    if not free:
        raise Refusal(f"`{roles[0]}` has already signed this version.", "")
    return free[0]
