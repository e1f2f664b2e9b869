"""Applying a playbook `Remediation` to a running runtime.

A step's timeout or retries change by registering a new version of its saga
definition (running sagas keep the definition they began with) and saving it in
the `settings` table under `definition:<saga_type>`, so the change survives a
restart (`load_overrides`). Dead-lettered compensations are re-driven with the
saga service's force-compensation; an actor type is restarted through the actor
system. A remediation that would change nothing raises `RemedyError`; one the
engine cannot carry out at all raises `RemedyUnavailableError`, so the incident goes
to a person instead of pretending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from runtime.errors import EngineError
from runtime.observe.playbook import Remediation, more_attempts, raised_timeout, restart_backoff
from runtime.sagas.definition import ParallelGroup, SagaDefinition, StepDefinition, parse_definition
from runtime.store import schema

if TYPE_CHECKING:
    from runtime.facade import Runtime

OVERRIDE_PREFIX = "definition:"
"""`settings` key prefix of a saga definition changed by a remediation."""


class RemedyError(EngineError):
    """A remediation could not be applied, or would have changed nothing."""

    def __init__(self, action: str, target: str, why: str) -> None:
        self.action = action
        self.target = target
        self.why = why
        super().__init__(f"Could not {action.replace('_', ' ')} on {target}: {why}.")


class RemedyUnavailableError(RemedyError):
    """The engine has no way to carry out this remediation; a person must decide."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What a remediation changed.

    Attributes:
        text: one line for people ("raised order/charge timeout from 5 s to 10 s").
        change: the before and after values, JSON-serialisable.
    """

    text: str
    change: dict[str, Any] = field(default_factory=dict)


async def apply(runtime: Runtime, remediation: Remediation, *, attempt: int = 1) -> Applied:
    """Carry out `remediation`; `attempt` is the incident's attempt (1-based), which
    sets a restart's backoff.

    Raises:
        RemedyUnavailableError: the engine cannot do this (pausing one saga type).
        RemedyError: nothing would change (a value already at its cap, nothing to
            re-drive, no actor of the type), or the target is unknown.
    """
    match remediation.action:
        case "raise_timeout" | "add_retries":
            return await _change_step(runtime, remediation)
        case "redrive_compensations":
            return await _redrive(runtime, remediation)
        case "restart_actor":
            return await _restart(runtime, remediation, attempt)
        case "pause_saga_type":
            raise RemedyUnavailableError(
                remediation.action,
                remediation.target,
                "the engine pauses the intake of every saga type at once, not of one type, "
                "and stopping healthy sagas is the Chairman's call",
            )
        case "complete_stage":
            return Applied("issued the stage completion report", dict(remediation.change))


async def save_definition(runtime: Runtime, definition: SagaDefinition) -> None:
    """Register `definition` and keep it in `settings`, replacing any earlier override."""
    now = runtime.clock.now()
    await runtime.writer.submit(
        [
            (
                "settings",
                {
                    "key": OVERRIDE_PREFIX + definition.name,
                    "value": definition.as_json,
                    "updated_at": now,
                },
            )
        ]
    )
    # The facade keeps saved changes so a later `register` of an older version
    # (a demo installing its definitions) does not undo them.
    runtime._overrides[definition.name] = definition
    runtime.sagas.register(definition)


async def load_overrides(runtime: Runtime) -> dict[str, SagaDefinition]:
    """The saga definitions remediations saved, by saga type. One that no longer
    validates is skipped: the definition shipped with the code stays in force."""
    t = schema.settings
    query = sa.select(t.c.key, t.c.value).where(t.c.key.startswith(OVERRIDE_PREFIX))
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    found: dict[str, SagaDefinition] = {}
    for key, value in rows:
        try:
            definition = parse_definition(orjson.loads(value), f"settings {key}")
        except (EngineError, orjson.JSONDecodeError):
            continue
        found[definition.name] = definition
    return found


def _split(target: str) -> tuple[str, str]:
    saga_type, _, step = target.partition("/")
    return saga_type, step


async def _change_step(runtime: Runtime, remediation: Remediation) -> Applied:
    saga_type, name = _split(remediation.target)
    definition = runtime.sagas.definitions.get(saga_type)
    if definition is None or name not in definition.step_positions:
        raise RemedyError(remediation.action, remediation.target, "no such saga type and step")
    step = definition.step(name)
    if remediation.action == "raise_timeout":
        before_t, after_t = step.timeout, raised_timeout(step.timeout)
        if after_t == before_t:
            raise RemedyError(
                remediation.action, remediation.target, f"its timeout is already {before_t:g} s"
            )
        changed = step.model_copy(update={"timeout": after_t})
        text = f"raised {name} timeout of {saga_type} from {before_t:g} s to {after_t:g} s"
        change: dict[str, Any] = {"field": "timeout", "before": before_t, "after": after_t}
    else:
        before_n = step.retry.max_attempts
        after_n = more_attempts(before_n)
        if after_n == before_n:
            raise RemedyError(
                remediation.action,
                remediation.target,
                f"it already has {before_n} attempts, the most allowed",
            )
        changed = step.model_copy(
            update={"retry": step.retry.model_copy(update={"max_attempts": after_n})}
        )
        text = f"allowed {name} of {saga_type} {after_n} attempts instead of {before_n}"
        change = {"field": "retry.max_attempts", "before": before_n, "after": after_n}
    steps = [_replaced(stage, changed) for stage in definition.steps]
    new = definition.model_copy(
        update={
            "steps": [s.model_dump() for s in steps],
            "version": definition.version + 1,
        }
    )
    await save_definition(runtime, new)
    change.update(
        {"saga_type": saga_type, "step": name, "version": new.version, "was": definition.version}
    )
    return Applied(f"{text} (definition version {new.version})", change)


def _replaced(
    stage: StepDefinition | ParallelGroup, changed: StepDefinition
) -> StepDefinition | ParallelGroup:
    if isinstance(stage, ParallelGroup):
        return ParallelGroup(
            parallel=[changed if s.name == changed.name else s for s in stage.parallel]
        )
    return changed if stage.name == changed.name else stage


async def _redrive(runtime: Runtime, remediation: Remediation) -> Applied:
    saga_type, name = _split(remediation.target)
    letters = await runtime.dead_letters(unresolved=True, kind="compensation")
    saga_ids = sorted({d.saga_id for d in letters if d.saga_id and d.step_name == name})
    redriven: list[str] = []
    refused: list[str] = []
    for saga_id in saga_ids:
        try:
            state = await runtime.get_saga(saga_id)
            if state.saga_type != saga_type:
                continue
            await runtime.force_compensation(saga_id, f"recursion: {remediation.reason}")
        except EngineError as exc:
            refused.append(f"{saga_id}: {exc}")
            continue
        redriven.append(saga_id)
    if not redriven:
        why = "no unresolved dead-lettered compensation is left"
        if refused:
            why = "every re-drive was refused (" + "; ".join(refused[:3]) + ")"
        raise RemedyError(remediation.action, remediation.target, why)
    return Applied(
        f"re-drove {len(redriven)} dead-lettered {name} compensation(s) of {saga_type}",
        {"sagas": redriven, "refused": refused},
    )


async def _restart(runtime: Runtime, remediation: Remediation, attempt: int) -> Applied:
    actor_type = remediation.target
    paths = [a.path for a in runtime.actor_tree() if str(a.actor_type) == actor_type]
    if not paths:
        raise RemedyError(
            remediation.action, actor_type, "no actor of this type is running to restart"
        )
    for path in paths:
        await runtime.restart_actor(path, f"recursion: {remediation.reason}")
    backoff = restart_backoff(attempt)
    return Applied(
        f"restarted {len(paths)} {actor_type} actor(s); the next restart waits {backoff:g} s",
        {"actors": paths, "backoff": backoff},
    )
