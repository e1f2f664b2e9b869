"""EVA's engine: durable sagas (and actors) on SQLite or PostgreSQL.

Public API: `Runtime` and the types it hands out. This package imports
nothing of EVA's other packages; they import `runtime`, `runtime.errors`
and `runtime.events` only.
"""

from runtime.clock import Clock, ManualClock, SystemClock
from runtime.demo import DemoSummary, Faults, demo_definitions, install_demo, run_demo
from runtime.errors import (
    ConcurrencyError,
    DatabaseBusyError,
    DefinitionError,
    EngineError,
    IllegalTransitionError,
    IntegrityError,
    NotADatabaseError,
    StepError,
    StoreError,
    UnknownSagaError,
    UnknownSagaTypeError,
)
from runtime.events import RuntimeEvent
from runtime.facade import Runtime
from runtime.sagas.definition import (
    ParallelGroup,
    RetryPolicy,
    SagaDefinition,
    StepDefinition,
    StepKind,
    load_definition,
    parse_definition,
)
from runtime.sagas.participants import FunctionParticipant, Participant, StepCall
from runtime.sagas.queries import FAILURE_STATUSES, DeadLetter, SagaSummary
from runtime.sagas.state import SagaState, SagaStatus, StepState, StepStatus

__all__ = [
    "FAILURE_STATUSES",
    "Clock",
    "ConcurrencyError",
    "DatabaseBusyError",
    "DeadLetter",
    "DefinitionError",
    "DemoSummary",
    "EngineError",
    "Faults",
    "FunctionParticipant",
    "IllegalTransitionError",
    "IntegrityError",
    "ManualClock",
    "NotADatabaseError",
    "ParallelGroup",
    "Participant",
    "RetryPolicy",
    "Runtime",
    "RuntimeEvent",
    "SagaDefinition",
    "SagaState",
    "SagaStatus",
    "SagaSummary",
    "StepCall",
    "StepDefinition",
    "StepError",
    "StepKind",
    "StepState",
    "StepStatus",
    "StoreError",
    "SystemClock",
    "UnknownSagaError",
    "UnknownSagaTypeError",
    "demo_definitions",
    "install_demo",
    "load_definition",
    "parse_definition",
    "run_demo",
]
