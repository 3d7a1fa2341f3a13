"""Who may do what: roles from the playbook, Slack user groups resolved and cached."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import NotAuthorized
from bot.playbook import Playbook

SYSTEM_ACTOR = "warroom"  # scheduled jobs and triggers act as the bot itself
GROUP_CACHE_TTL = timedelta(minutes=5)

# Returns the members, or None when they could not be read (not cached, fails closed).
GroupMembers = Callable[[str], set[str] | None]


class Authorizer:
    def __init__(self, playbook: Playbook, group_members: GroupMembers, clock: Clock) -> None:
        self._playbook = playbook
        self._group_members = group_members
        self._clock = clock
        self._cache: dict[str, tuple[set[str], datetime]] = {}  # group → (members, expiry)
        self._lock = threading.Lock()

    def _members_of_group(self, group_id: str) -> set[str]:
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached and cached[1] > now:
                return cached[0]
        members = self._group_members(group_id)
        if members is None:
            return set()
        with self._lock:
            self._cache[group_id] = (members, now + GROUP_CACHE_TTL)
        return members

    def roles_of(self, user_id: str) -> set[str]:
        roles = set()
        for role, members in self._playbook.roles.items():
            if user_id in members:
                roles.add(role)
                continue
            groups = [m for m in members if m.startswith("S")]
            if any(user_id in self._members_of_group(group) for group in groups):
                roles.add(role)
        return roles

    def members(self, role: str) -> list[str]:
        return list(self._playbook.roles.get(role, []))

    def require(self, user_id: str, action: str) -> None:
        if user_id == SYSTEM_ACTOR:
            return
        allowed = self._playbook.permissions.get(action, [])
        if not self.roles_of(user_id) & set(allowed):
            raise NotAuthorized(action, allowed)
