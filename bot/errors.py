"""Domain errors that speak to people: what was wrong and what to type instead."""

from __future__ import annotations


class WarroomError(Exception):
    """Base of every error a person should read."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class Refusal(WarroomError):
    """The request was understood and refused; nothing changed."""


def natural_list(items: list[str], conjunction: str = "and") -> str:
    """`a`, `b` or `c`: how a person writes a list (not `a` or `b` or `c`)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


class NotAuthorized(Refusal):
    def __init__(self, action: str, roles: list[str]) -> None:
        needed = natural_list([f"`{role}`" for role in roles], "or") or "(no role is granted it)"
        super().__init__(
            f"You may not `{action}`: it needs the {needed} role in the playbook.",
            "Ask a member of that role, or the playbook owner to add you.",
        )
        self.action = action
        self.roles = roles


class DependencyError(WarroomError):
    """A dependency (flag service, Slack, …) failed; the change did not happen."""
