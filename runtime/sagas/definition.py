"""Saga definitions: pydantic models, YAML loading, and load-time validation.

A saga is a list of stages run in order; a stage is one step or a parallel
group of steps. Validation follows Garcia-Molina & Salem: compensable steps
come first, then at most one pivot (the point of no return), then retriable
steps; every compensable step has a compensation, and nothing after the pivot
has one. A bad definition fails with an error naming its file, the step and
the rule it breaks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from runtime.errors import DefinitionError

_NAME = r"^[a-z][a-z0-9_]*$"


class StepKind(StrEnum):
    COMPENSABLE = "compensable"
    """Its effect can be undone by its compensation."""
    PIVOT = "pivot"
    """The point of no return: once it completes the saga must finish forwards."""
    RETRIABLE = "retriable"
    """After the pivot; retried until it succeeds (within its policy), never undone."""


class RetryPolicy(BaseModel):
    """How a failing step is tried again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 3
    """Attempts in all, the first included."""
    initial_backoff: Annotated[float, Field(ge=0)] = 0.05
    """Seconds before the second attempt."""
    multiplier: Annotated[float, Field(ge=1)] = 2.0
    """Each later wait is this many times the one before."""
    max_backoff: Annotated[float, Field(ge=0)] = 5.0
    """No wait is longer than this."""
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.2
    """Each wait is shortened by a random fraction up to this, so retries spread out."""
    retry_on: tuple[str, ...] = ("transient", "timeout")
    """Error kinds worth retrying; `*` retries every error the participant marks retryable."""

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th failure."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (failures - 1))
        return base * (1.0 - self.jitter * rng.random())

    def retries(self, kind: str, retryable: bool) -> bool:
        """Whether an error of this kind is worth another attempt."""
        return kind in self.retry_on or ("*" in self.retry_on and retryable)


class StepDefinition(BaseModel):
    """One local transaction of a saga, performed by a participant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    """snake_case, unique within the saga."""
    participant: str
    """The service that performs the action (a registered participant)."""
    action: str
    """The operation asked of the participant."""
    compensation: str | None = None
    """The participant's operation that undoes `action`; required for compensable steps."""
    kind: StepKind = StepKind.COMPENSABLE
    timeout: Annotated[float, Field(gt=0)] = 5.0
    """Seconds one attempt may take."""
    retry: RetryPolicy = RetryPolicy()
    requires_approval: bool = False
    """The saga waits for the Chairman's approval before this step."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Passed to the participant with the saga's input."""


class ParallelGroup(BaseModel):
    """Steps that run at the same time; the saga moves on when all have completed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parallel: Annotated[list[StepDefinition], Field(min_length=2)]


class SagaDefinition(BaseModel):
    """A saga type: its steps, their compensations, and its deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    """The saga type, snake_case (`order_fulfillment`)."""
    version: Annotated[int, Field(ge=1)] = 1
    description: str = ""
    steps: Annotated[list[StepDefinition | ParallelGroup], Field(min_length=1)]
    deadline: Annotated[float, Field(gt=0)] | None = None
    """Seconds the saga may take before the pivot; past it, it compensates."""
    compensation_retry: RetryPolicy = RetryPolicy(max_attempts=5, retry_on=("*",))
    """How compensations are retried before they go to the dead-letter queue."""

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> SagaDefinition:
        """A changed copy, validated again (pydantic's own copy would skip the rules)."""
        data = self.model_dump()
        data.update(update or {})
        return SagaDefinition.model_validate(data)

    # Derived once per definition (the model is frozen): the executor looks
    # steps up on every transition.
    @cached_property
    def stages(self) -> list[list[StepDefinition]]:
        return [s.parallel if isinstance(s, ParallelGroup) else [s] for s in self.steps]

    @cached_property
    def all_steps(self) -> list[StepDefinition]:
        return [step for stage in self.stages for step in stage]

    @cached_property
    def as_data(self) -> dict[str, Any]:
        """The definition as JSON-ready data (shared: do not change it)."""
        return self.model_dump(mode="json")

    @cached_property
    def as_json(self) -> str:
        return orjson.dumps(self.as_data).decode()

    @cached_property
    def step_positions(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.all_steps)}

    def step(self, name: str) -> StepDefinition:
        """The step called `name`; KeyError if there is none."""
        return self.all_steps[self.step_positions[name]]

    def index(self, name: str) -> int:
        """The position of step `name` among all steps, in order."""
        return self.step_positions[name]

    @cached_property
    def pivot(self) -> StepDefinition | None:
        return next((s for s in self.all_steps if s.kind is StepKind.PIVOT), None)

    @cached_property
    def max_retries(self) -> int:
        """Retries the saga's steps may take in all."""
        return sum(s.retry.max_attempts - 1 for s in self.all_steps)

    @cached_property
    def requires_approval(self) -> bool:
        return any(s.requires_approval for s in self.all_steps)

    @model_validator(mode="after")
    def _check_rules(self) -> SagaDefinition:
        for step, rule in _rule_violations(self):
            raise ValueError(f"[step {step}] {rule}" if step else rule)
        return self


_ORDER = {StepKind.COMPENSABLE: 0, StepKind.PIVOT: 1, StepKind.RETRIABLE: 2}


def _rule_violations(saga: SagaDefinition) -> Iterable[tuple[str | None, str]]:
    seen: set[str] = set()
    for step in saga.all_steps:
        if step.name in seen:
            yield step.name, "step names must be unique within a saga"
        seen.add(step.name)
    pivots = [s for s in saga.all_steps if s.kind is StepKind.PIVOT]
    if len(pivots) > 1:
        yield pivots[1].name, f"a saga has at most one pivot step ({pivots[0].name} is one)"
    last = StepKind.COMPENSABLE
    for stage in saga.stages:
        kinds = {s.kind for s in stage}
        if len(stage) > 1 and StepKind.PIVOT in kinds:
            yield (
                next(s.name for s in stage if s.kind is StepKind.PIVOT),
                ("a pivot step cannot run in a parallel group"),
            )
        if len(kinds) > 1:
            yield stage[0].name, "steps in one parallel group must all be of the same kind"
        for step in stage:
            if _ORDER[step.kind] < _ORDER[last]:
                yield (
                    step.name,
                    (
                        f"a {step.kind} step cannot come after a {last} step: compensable steps go "
                        "before the pivot and retriable steps after it"
                    ),
                )
            if step.kind is StepKind.COMPENSABLE and not step.compensation:
                yield step.name, "a compensable step needs a compensation"
            if step.kind is not StepKind.COMPENSABLE and step.compensation:
                yield (
                    step.name,
                    (
                        f"a {step.kind} step is never compensated; remove its compensation or make "
                        "it compensable"
                    ),
                )
        last = max(kinds | {last}, key=_ORDER.__getitem__)


def _step_of(saga_data: Any, loc: tuple[int | str, ...]) -> str | None:
    """The name of the step a validation error location points at, if any."""
    node = saga_data
    name: str | None = None
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("name"), str) and loc[0] == "steps":
            name = node["name"]
    return name


def parse_definition(data: Any, source: str) -> SagaDefinition:
    """Validate a definition given as plain data (from YAML or JSON).

    Raises:
        DefinitionError: naming `source`, the step, and the rule broken.
    """
    if not isinstance(data, dict):
        raise DefinitionError(
            source, None, "a saga definition must be a mapping with name and steps"
        )
    try:
        return SagaDefinition.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        step = _step_of(data, tuple(error["loc"]))
        match = re.match(r"\[step (\w+)\] (.*)", message, re.S)
        if match:
            step, message = match.group(1), match.group(2)
        where = ".".join(str(p) for p in error["loc"])
        rule = f"{message} (at {where})" if where and not match else message
        raise DefinitionError(source, step, rule) from None


def load_definition(path: Path) -> SagaDefinition:
    """Load and validate one YAML definition file.

    Raises:
        DefinitionError: the file is not YAML, or the definition breaks a rule.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(path), None, f"cannot read the file ({exc})") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(str(path), None, f"not valid YAML ({exc})") from None
    return parse_definition(data, str(path))


def load_definitions(folder: Path) -> list[SagaDefinition]:
    """Every `*.yaml`/`*.yml` definition in a folder, in name order."""
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [load_definition(f) for f in files]
