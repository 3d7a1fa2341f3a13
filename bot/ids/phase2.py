"""Ids of the Phase 2 surface: /phase2, its backlog buttons."""

from enum import StrEnum

COMMAND = "/phase2"


class Phase2Action(StrEnum):
    REFINE = "phase2.refine"  # value: the feature
    APPROVE = "phase2.approve"  # value: the feature
    EPICS = "phase2.epics"  # value: "epics"
