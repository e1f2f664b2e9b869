"""The command palette's entries (ctrl+p): the everyday commands, and the panels.

A command that needs a target ("pause saga …") is put in the command bar to be
finished there, with completion; the others run at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    title: str
    text: str
    complete: bool
    """True: run `text` as it is; False: put it in the command bar to be finished."""


COMMANDS = (
    PaletteCommand("Saga failures today", "show saga failures in the last 24 hours", True),
    PaletteCommand("Sagas waiting for approval", "show sagas waiting for approval", True),
    PaletteCommand("Running sagas", "show running sagas", True),
    PaletteCommand("Paused sagas", "show paused sagas", True),
    PaletteCommand("Failed actors", "show failed actors", True),
    PaletteCommand("Dead letters in the last hour", "show dead letters from the last hour", True),
    PaletteCommand("Metrics", "show metrics", True),
    PaletteCommand("Recursion incidents", "show recursion incidents", True),
    PaletteCommand("My decisions today", "show my decisions from the last 24 hours", True),
    PaletteCommand("Consistency check", "run a consistency check", True),
    PaletteCommand("Stop accepting new sagas", "stop accepting new sagas", True),
    PaletteCommand("Resume accepting new sagas", "resume new sagas", True),
    PaletteCommand("Describe a saga…", "what happened to saga ", False),
    PaletteCommand("Pause a saga…", "pause saga ", False),
    PaletteCommand("Resume a saga…", "resume saga ", False),
    PaletteCommand("Approve a saga…", "approve saga ", False),
    PaletteCommand("Abort a saga…", "abort saga ", False),
    PaletteCommand("Force compensation on a saga…", "force compensation on saga ", False),
    PaletteCommand("Retry a failed step…", "retry the failed step of saga ", False),
    PaletteCommand("Restart an actor…", "restart actor ", False),
    PaletteCommand("Help", "help", True),
)
