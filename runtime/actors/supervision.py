"""Supervision as pure functions, after Erlang/OTP and Akka.

A supervisor maps a child's failure to a directive with its decider,
checks restart intensity (at most N restarts in a sliding window), and
applies the directive to the failed child alone (one-for-one), to every
child (one-for-all), or to the failed child and those started after it
(rest-for-one). Nothing here reads a clock or touches an actor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Directive(StrEnum):
    RESUME = "resume"
    """Keep the actor and its state; carry on with the next message."""
    RESTART = "restart"
    """Replace the actor with a fresh instance (or its persisted state)."""
    STOP = "stop"
    """Stop the actor for good."""
    ESCALATE = "escalate"
    """Fail the supervisor itself; its own supervisor decides."""


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


Decider = Callable[[BaseException], Directive]


def restart_on_error(_error: BaseException) -> Directive:
    """The default decider: restart on any error."""
    return Directive.RESTART


@dataclass(frozen=True, slots=True)
class RestartIntensity:
    """At most `max_restarts` restarts within `window` seconds (the PRD's
    `max_restart_retries` and `restart_time_window`)."""

    max_restarts: int = 3
    window: float = 60.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds a failed actor waits before it is restarted: `initial` for its first
    restart in the intensity window, ×`multiplier` for each further one, at most
    `max`. It spreads a restart storm out so the failing dependency can recover
    (Akka's backoff supervisor); the recursion loop sets it per actor type."""

    initial: float = 1.0
    multiplier: float = 2.0
    max: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.max and self.multiplier >= 1):
            raise ValueError(f"a backoff needs 0 < initial <= max and multiplier >= 1, got {self}")

    def delay(self, restart: int) -> float:
        """Seconds before the `restart`-th restart in the window (1-based)."""
        if restart < 1:
            raise ValueError(f"restarts are counted from 1, got {restart}")
        return min(self.max, self.initial * self.multiplier ** (restart - 1))


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    strategy: Strategy = Strategy.ONE_FOR_ONE
    decider: Decider = restart_on_error
    intensity: RestartIntensity = RestartIntensity()


DEFAULT_SPEC = SupervisorSpec()


@dataclass(frozen=True, slots=True)
class Decision:
    """What a supervisor does about one failure.

    Attributes:
        directive: what happens.
        targets: the children it applies to, in start order.
        history: the restart times to keep for the next failure.
        reason: why, for people (the incident and the log).
    """

    directive: Directive
    targets: tuple[str, ...]
    history: tuple[float, ...]
    reason: str


def count_restart(
    history: Sequence[float], now: float, intensity: RestartIntensity
) -> tuple[bool, tuple[float, ...]]:
    """Record a restart at `now`; whether it stays within the intensity, and the new history."""
    recent = (*(t for t in history if now - t < intensity.window), now)
    return len(recent) <= intensity.max_restarts, recent


def affected(strategy: Strategy, children: Sequence[str], failed: str) -> tuple[str, ...]:
    """The children a restart or stop applies to, in start order."""
    if strategy is Strategy.ONE_FOR_ALL:
        return tuple(children)
    if strategy is Strategy.REST_FOR_ONE and failed in children:
        return tuple(children[children.index(failed) :])
    return (failed,)


def supervise(
    spec: SupervisorSpec,
    children: Sequence[str],
    failed: str,
    error: BaseException,
    history: Sequence[float],
    now: float,
) -> Decision:
    """Decide what to do about `failed`'s `error`.

    A decider that raises is itself a failure of the supervisor: the
    decision is to escalate.
    """
    try:
        directive = spec.decider(error)
    except Exception as exc:
        return Decision(
            Directive.ESCALATE,
            (failed,),
            tuple(history),
            f"the supervisor's decider raised {exc!r}",
        )
    if directive is Directive.RESTART:
        within, recent = count_restart(history, now, spec.intensity)
        if not within:
            limit = spec.intensity
            return Decision(
                Directive.ESCALATE,
                (failed,),
                recent,
                f"{failed} exceeded its restart intensity ({limit.max_restarts} restarts in "
                f"{limit.window:g}s)",
            )
        return Decision(
            directive,
            affected(spec.strategy, children, failed),
            recent,
            f"{failed} failed: {error!r}",
        )
    if directive is Directive.STOP:
        return Decision(
            directive,
            affected(spec.strategy, children, failed),
            tuple(history),
            f"{failed} failed and is stopped: {error!r}",
        )
    return Decision(directive, (failed,), tuple(history), f"{failed} failed: {error!r}")
