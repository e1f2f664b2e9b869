"""Intake: whether a new saga starts at once or waits as `pending`.

Intake can be paused for every saga type (the Chairman's "stop accepting new
sagas") and, apart from that, for single saga types (the recursion loop's
"pause the saga type", or "pause new order fulfillment sagas"). A saga starts
only if neither applies to it. The state is one `settings` row, `intake`, and
every change is also an event on the journal stream `intake`; both are written
in one transaction, so a restart finds exactly what was last committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from runtime.store.journal import NewEvent
from runtime.store.writer import Write

STREAM = "intake"
SETTING = "intake"


@dataclass(frozen=True, slots=True)
class IntakeState:
    """What is paused.

    Attributes:
        paused: every saga type waits.
        reason: why every type waits ("" when it does not, or none was given).
        types: saga types that wait on their own, each with its reason; kept while
            the whole intake is paused and resumed, so a global resume does not
            undo a pause the Chairman (or the recursion loop) made for one type.
    """

    paused: bool = False
    reason: str = ""
    types: Mapping[str, str] = field(default_factory=dict)

    def admits(self, saga_type: str) -> bool:
        """Whether a new saga of this type starts at once."""
        return not self.paused and saga_type not in self.types

    def changed(self, paused: bool, reason: str = "", saga_type: str | None = None) -> IntakeState:
        """The state after pausing or resuming every type (`saga_type` None) or one."""
        if saga_type is None:
            return replace(self, paused=paused, reason=reason if paused else "")
        types = dict(self.types)
        if paused:
            types[saga_type] = reason
        else:
            types.pop(saga_type, None)
        return replace(self, types=types)

    def to_json(self, at: float) -> str:
        data: dict[str, Any] = {"paused": self.paused, "reason": self.reason, "at": at}
        if self.types:
            data["types"] = dict(sorted(self.types.items()))
        return orjson.dumps(data).decode()

    @classmethod
    def from_json(cls, value: str | bytes) -> IntakeState:
        """The state a settings row holds; rows written before types existed have none."""
        data = orjson.loads(value)
        types = data.get("types") or {}
        return cls(
            paused=bool(data["paused"]),
            reason=str(data.get("reason", "")),
            types={str(k): str(v) for k, v in types.items()},
        )


def change_event(paused: bool, reason: str, saga_type: str | None) -> NewEvent:
    """The journal event of one change (`saga_type` only when one type changed)."""
    data: dict[str, Any] = {"reason": reason}
    if saga_type is not None:
        data["saga_type"] = saga_type
    return NewEvent("IntakePaused" if paused else "IntakeResumed", data)


def setting_write(state: IntakeState, at: float) -> Write:
    return ("settings", {"key": SETTING, "value": state.to_json(at), "updated_at": at})


@dataclass(frozen=True, slots=True)
class IntakeChange:
    """A change of intake ready to commit: its writes (the event on `intake` and the
    settings row), and what holds once they are committed."""

    writes: list[Write]
    state: IntakeState
    event: NewEvent
    version: int
    head: str
    at: float
