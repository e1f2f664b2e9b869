"""Carrying out a playbook `Remediation` on a running runtime, as one recorded change.

`prepare` works out the change and the rows that record it; the incident log
commits those rows in the same transaction as the incident's
`RemediationApplied` event, and only then does `Prepared.take_effect` change the
running runtime. So the journal never shows a remediation that the settings do
not hold, nor the reverse, and a crash in between leaves the committed state,
which the next open loads:

- a step's timeout or retries: a new version of its saga definition (running
  sagas keep the one they began with), kept in `settings` under
  `definition:<saga_type>` (`load_overrides`);
- pausing a saga type: the intake setting and an event on the `intake` stream;
  new sagas of the type wait as `pending` until the Chairman resumes them;
- an actor type's restarts: a backoff kept under `supervision:<actor_type>`
  (`load_restart_backoffs`), then every actor of the type restarted.

Re-driving dead-lettered compensations is an action on sagas, each recorded on
the saga's own stream, so it happens in `prepare`. A remediation that would
change nothing raises `RemedyError`; one the engine cannot carry out raises
`RemedyUnavailableError`, so the incident goes to a person instead of pretending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from runtime.actors.actor import ActorType
from runtime.actors.supervision import Backoff
from runtime.errors import EngineError
from runtime.observe.playbook import Remediation, more_attempts, raised_timeout
from runtime.sagas.definition import ParallelGroup, SagaDefinition, StepDefinition, parse_definition
from runtime.store import schema
from runtime.store.writer import Write

if TYPE_CHECKING:
    from runtime.facade import Runtime

OVERRIDE_PREFIX = "definition:"
"""`settings` key prefix of a saga definition changed by a remediation."""
BACKOFF_PREFIX = "supervision:"
"""`settings` key prefix of an actor type's restart backoff."""


class RemedyError(EngineError):
    """A remediation could not be applied, or would have changed nothing."""

    def __init__(self, action: str, target: str, why: str) -> None:
        self.action = action
        self.target = target
        self.why = why
        super().__init__(f"Could not {action.replace('_', ' ')} on {target}: {why}.")


class RemedyUnavailableError(RemedyError):
    """The engine has no way to carry out this remediation; a person must decide."""


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A remediation worked out and ready to commit.

    Attributes:
        text: one line for people ("raised charge timeout of order from 5 s to 10 s").
        change: the before and after values, JSON-serialisable.
        writes: the rows that record the change, to commit with the incident's event.
        take_effect: what the running runtime does once `writes` are committed.
        needs_person: the change contains the damage but cannot end it (a paused
            saga type waits for the Chairman), so the incident goes to the review
            panel once it is applied.
    """

    text: str
    change: dict[str, Any] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    take_effect: Callable[[], Awaitable[None]] = _nothing
    needs_person: bool = False


async def prepare(runtime: Runtime, remediation: Remediation) -> Prepared:
    """Work out `remediation` against the runtime as it is now.

    Raises:
        RemedyUnavailableError: the engine cannot do this.
        RemedyError: nothing would change (a value already at its cap, a type
            already paused, nothing to re-drive, no actor of the type), or the
            target is unknown.
    """
    match remediation.action:
        case "raise_timeout" | "add_retries":
            return await _change_step(runtime, remediation)
        case "redrive_compensations":
            return await _redrive(runtime, remediation)
        case "restart_actor":
            return _restart(runtime, remediation)
        case "pause_saga_type":
            return await _pause(runtime, remediation)
        case "complete_stage":
            return Prepared("issued the stage completion report", dict(remediation.change))


def _definition_write(runtime: Runtime, definition: SagaDefinition) -> Write:
    return (
        "settings",
        {
            "key": OVERRIDE_PREFIX + definition.name,
            "value": definition.as_json,
            "updated_at": runtime.clock.now(),
        },
    )


def adopt_definition(runtime: Runtime, definition: SagaDefinition) -> None:
    """Put a saved definition in force here."""
    # The facade keeps saved changes so a later `register` of an older version
    # (a demo installing its definitions) does not undo them.
    runtime._overrides[definition.name] = definition
    runtime.sagas.register(definition)


async def _saved(runtime: Runtime, prefix: str) -> list[tuple[str, str]]:
    t = schema.settings
    query = sa.select(t.c.key, t.c.value).where(t.c.key.startswith(prefix))
    async with runtime.engine.connect() as conn:
        return [(str(k), str(v)) for k, v in await conn.execute(query)]


async def load_overrides(runtime: Runtime) -> dict[str, SagaDefinition]:
    """The saga definitions remediations saved, by saga type. One that no longer
    validates is skipped: the definition shipped with the code stays in force."""
    found: dict[str, SagaDefinition] = {}
    for key, value in await _saved(runtime, OVERRIDE_PREFIX):
        try:
            definition = parse_definition(orjson.loads(value), f"settings {key}")
        except (EngineError, orjson.JSONDecodeError):
            continue
        found[definition.name] = definition
    return found


async def load_restart_backoffs(runtime: Runtime) -> dict[ActorType, Backoff]:
    """The restart backoffs remediations saved, by actor type; unreadable ones are
    skipped (the type restarts at once, as it did before)."""
    found: dict[ActorType, Backoff] = {}
    for key, value in await _saved(runtime, BACKOFF_PREFIX):
        try:
            found[ActorType(key.removeprefix(BACKOFF_PREFIX))] = Backoff(**orjson.loads(value))
        except (ValueError, TypeError):
            continue
    return found


def _split(target: str) -> tuple[str, str]:
    saga_type, _, step = target.partition("/")
    return saga_type, step


async def _change_step(runtime: Runtime, remediation: Remediation) -> Prepared:
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
    change.update(
        {"saga_type": saga_type, "step": name, "version": new.version, "was": definition.version}
    )

    async def take_effect() -> None:
        adopt_definition(runtime, new)

    return Prepared(
        f"{text} (definition version {new.version})",
        change,
        [_definition_write(runtime, new)],
        take_effect,
    )


def _replaced(
    stage: StepDefinition | ParallelGroup, changed: StepDefinition
) -> StepDefinition | ParallelGroup:
    if isinstance(stage, ParallelGroup):
        return ParallelGroup(
            parallel=[changed if s.name == changed.name else s for s in stage.parallel]
        )
    return changed if stage.name == changed.name else stage


async def _redrive(runtime: Runtime, remediation: Remediation) -> Prepared:
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
    return Prepared(
        f"re-drove {len(redriven)} dead-lettered {name} compensation(s) of {saga_type}",
        {"sagas": redriven, "refused": refused},
    )


def _restart(runtime: Runtime, remediation: Remediation) -> Prepared:
    actor_type = remediation.target
    try:
        kind = ActorType(actor_type)
    except ValueError:
        raise RemedyError(remediation.action, actor_type, "no such actor type") from None
    paths = [a.path for a in runtime.actor_tree() if a.actor_type == kind]
    if not paths:
        raise RemedyError(
            remediation.action, actor_type, "no actor of this type is running to restart"
        )
    backoff = Backoff(**remediation.change.get("backoff", {}))
    write: Write = (
        "settings",
        {
            "key": BACKOFF_PREFIX + actor_type,
            "value": orjson.dumps(dataclasses.asdict(backoff)).decode(),
            "updated_at": runtime.clock.now(),
        },
    )

    async def take_effect() -> None:
        runtime.actors.restart_backoff[kind] = backoff
        for path in paths:
            await runtime.restart_actor(path, f"recursion: {remediation.reason}")

    return Prepared(
        f"restarted {len(paths)} {actor_type} actor(s); from now on each waits "
        f"{backoff.initial:g} s before a restart, doubling up to {backoff.max:g} s",
        {"actors": paths, "backoff": dataclasses.asdict(backoff)},
        [write],
        take_effect,
    )


async def _pause(runtime: Runtime, remediation: Remediation) -> Prepared:
    saga_type = remediation.target
    if saga_type not in runtime.sagas.definitions:
        raise RemedyError(remediation.action, saga_type, "no such saga type")
    if saga_type in runtime.sagas.intake.types or runtime.intake_paused:
        raise RemedyError(remediation.action, saga_type, "its new sagas already wait")
    intake = await runtime.sagas.prepare_intake(True, f"recursion: {remediation.reason}", saga_type)

    async def take_effect() -> None:
        runtime.sagas.intake_committed(intake)

    return Prepared(
        f"paused new {saga_type} sagas; they wait as pending until the Chairman resumes them",
        {"saga_type": saga_type, "intake": "paused"},
        intake.writes,
        take_effect,
        needs_person=True,
    )
