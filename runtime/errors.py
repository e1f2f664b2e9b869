"""Errors raised by the runtime.

Every error keeps the facts it is about as attributes and says in its
message what to do next. `retryable` tells the executor whether trying the
same thing again may succeed.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the runtime raises on purpose."""

    retryable: bool = False


class ConcurrencyError(EngineError):
    """A writer appended to a stream that moved on since it last read it."""

    retryable = True

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, not {expected_version}: "
            "another writer got there first; read the stream again and retry"
        )


class IntegrityError(EngineError):
    """The journal's hash chain is broken: an event was changed or removed."""

    def __init__(self, stream_id: str, version: int, detail: str) -> None:
        self.stream_id = stream_id
        self.version = version
        super().__init__(
            f"journal stream {stream_id!r} is corrupt at version {version}: {detail}; "
            "restore the database from a backup — nothing was changed"
        )


class StoreError(EngineError):
    """The database cannot be used as it is."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"cannot use database {_where(url)}: {detail}")


def _where(url: str) -> str:
    """An SQLite URL as the file it names (what the operator typed); others unchanged."""
    scheme, _, rest = url.partition(":///")
    return rest if scheme.startswith("sqlite") and rest else url


class DatabaseBusyError(StoreError):
    """Another process holds the write lock longer than the busy timeout."""

    retryable = True

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            "it is locked by another process; close the other EVA (or the tool holding it) "
            "and try again",
        )


class NotADatabaseError(StoreError):
    """The file exists but is not an SQLite database."""

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            "the file is not an SQLite database; give EVA another file (--db, or EVA_DATABASE_URL)",
        )


class DefinitionError(EngineError):
    """A saga definition breaks a rule; names the source, the step and the rule."""

    def __init__(self, source: str, step: str | None, rule: str) -> None:
        self.source = source
        self.step = step
        self.rule = rule
        where = f"{source}, step {step!r}" if step else source
        super().__init__(f"{where}: {rule}")


class UnknownSagaError(EngineError):
    """No saga has this id."""

    def __init__(self, saga_id: str) -> None:
        self.saga_id = saga_id
        super().__init__(f"no saga has id {saga_id!r}; list sagas to see the ids there are")


class UnknownSagaTypeError(EngineError):
    """No definition is registered under this name."""

    def __init__(self, saga_type: str, known: list[str]) -> None:
        self.saga_type = saga_type
        self.known = known
        super().__init__(
            f"no saga type {saga_type!r} is registered; known types: {', '.join(known) or 'none'}"
        )


class IllegalTransitionError(EngineError):
    """A control that the saga's current status does not allow; nothing changed."""

    def __init__(self, saga_id: str, control: str, status: str, hint: str = "") -> None:
        self.saga_id = saga_id
        self.control = control
        self.status = status
        super().__init__(
            f"cannot {control} saga {saga_id}: it is {status}" + (f"; {hint}" if hint else "")
        )


class StepError(EngineError):
    """A participant could not perform a step.

    Args:
        kind: the error class a retry policy matches on (`transient`, `timeout`,
            `rejected`, ...).
        retryable: whether trying again may succeed.
    """

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False) -> None:
        self.kind = kind
        self.retryable = retryable
        super().__init__(message)


class StepTimeoutError(StepError):
    """A participant did not answer within the step's timeout."""

    def __init__(self, step: str, timeout: float) -> None:
        self.step = step
        self.timeout = timeout
        super().__init__(
            f"step {step!r} timed out after {timeout:g}s", kind="timeout", retryable=True
        )


class RuntimeClosedError(EngineError):
    """The runtime was closed; you stopped it, it did not break."""

    def __init__(self) -> None:
        super().__init__("the runtime is closed; open a new one")


class ActorError(EngineError):
    """Base class of the actor system's errors."""


class ActorNotFoundError(ActorError):
    """No actor lives at this path."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"no actor at {path}; list actors to see the tree")


class ActorStoppedError(ActorError):
    """The actor was stopped; messages to it go to the dead letters."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"actor {path} is stopped; restart it or spawn a new one")


class DuplicateActorError(ActorError):
    """A sibling already has this name."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"an actor already lives at {path}; pick another name or stop it first")


class AskTimeoutError(ActorError, TimeoutError):
    """An actor did not answer an ask in time."""

    retryable = True

    def __init__(self, path: str, message_type: str, timeout: float) -> None:
        self.path = path
        self.message_type = message_type
        self.timeout = timeout
        super().__init__(
            f"actor {path} did not answer {message_type} within {timeout:g}s; it may be "
            "overloaded or stuck — check its mailbox depth and heartbeat"
        )


class ActorFailedError(ActorError):
    """The actor raised while handling the message that was asked."""

    def __init__(self, path: str, message_type: str, error: BaseException) -> None:
        self.path = path
        self.message_type = message_type
        self.error = error
        super().__init__(f"actor {path} failed on {message_type}: {error!r}")


class MailboxFullError(ActorError):
    """A bounded mailbox that rejects overflow was full."""

    retryable = True

    def __init__(self, path: str, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        super().__init__(
            f"the mailbox of {path} is full ({capacity} messages); the message went to the "
            "dead letters — send more slowly or raise its capacity"
        )


class InvalidMessageError(ActorError):
    """Actors exchange pydantic models or dicts, nothing else."""

    def __init__(self, message: object) -> None:
        self.message_type = type(message).__name__
        super().__init__(
            f"a message must be a pydantic model or a dict, not {self.message_type}; wrap it"
        )


class ThresholdError(EngineError):
    """A threshold, or the environment that chooses them, was given a value it cannot take.

    Attributes:
        field: the threshold (`success_rate_min`, ..., or `environment`).
        value: the value as given.
        allowed: what it may be, as a clause ("it must be a number from 0 to 1").
        source: where the value came from (`EVA_THRESHOLD_SUCCESS_RATE_MIN`), if not code.
    """

    def __init__(self, field: str, value: object, allowed: str, source: str = "") -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.source = source
        where = f" (from {source})" if source else ""
        super().__init__(f"threshold {field} = {value!r}{where} is refused: {allowed}")
