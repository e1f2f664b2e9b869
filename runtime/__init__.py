"""EVA's engine: durable sagas (and actors) on SQLite or PostgreSQL.

Public API: `Runtime` and the types it hands out. This package imports
nothing of EVA's other packages; they import `runtime`, `runtime.errors`
and `runtime.events` only.
"""

from runtime.actors.actor import Actor, ActorContext, ActorStatus, ActorType
from runtime.actors.mailbox import Overflow, Priority
from runtime.actors.persistent import PersistentActor
from runtime.actors.ref import ActorRef
from runtime.actors.supervision import (
    Backoff,
    Directive,
    RestartIntensity,
    Strategy,
    SupervisorSpec,
)
from runtime.actors.system import ActorInfo, ActorSystem, RecentMessage
from runtime.clock import Clock, ManualClock, SystemClock
from runtime.decisions import Decision, DecisionLog
from runtime.demo import (
    DemoSummary,
    Faults,
    demo_definitions,
    demo_names,
    install_demo,
    run_demo,
)
from runtime.errors import (
    ActorError,
    ActorFailedError,
    ActorNotFoundError,
    ActorStoppedError,
    AskTimeoutError,
    ConcurrencyError,
    DatabaseBusyError,
    DefinitionError,
    DuplicateActorError,
    EngineError,
    IllegalTransitionError,
    IntegrityError,
    InvalidMessageError,
    MailboxFullError,
    NotADatabaseError,
    StepError,
    StoreError,
    ThresholdError,
    UnknownSagaError,
    UnknownSagaTypeError,
)
from runtime.events import RuntimeEvent
from runtime.facade import Runtime
from runtime.observe.consistency import (
    ConsistencyReport,
    Holder,
    Repair,
    Violation,
    ViolationKind,
)
from runtime.observe.consistency import last_score as last_consistency_score
from runtime.observe.incidents import IncidentRecord, recursion_kpis
from runtime.observe.incidents import steps as incident_steps
from runtime.observe.metrics import RestartLog, measure, window_data
from runtime.observe.prometheus import (
    MetricsCollector,
    MetricsExporter,
    MetricsPortError,
    MetricsSnapshot,
)
from runtime.observe.remedies import RemedyError, RemedyUnavailableError
from runtime.observe.suite import failure_suite_green, record_failure_suite
from runtime.observe.thresholds import load_thresholds
from runtime.observe.watcher import Watcher
from runtime.observe.windows import PROFILES, MetricWindow, Percentiles, Thresholds
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
from runtime.sagas.queries import FAILURE_STATUSES, DeadLetter, Incident, SagaSummary
from runtime.sagas.state import SagaState, SagaStatus, StepState, StepStatus

__all__ = [
    "FAILURE_STATUSES",
    "PROFILES",
    "Actor",
    "ActorContext",
    "ActorError",
    "ActorFailedError",
    "ActorInfo",
    "ActorNotFoundError",
    "ActorRef",
    "ActorStatus",
    "ActorStoppedError",
    "ActorSystem",
    "ActorType",
    "AskTimeoutError",
    "Backoff",
    "Clock",
    "ConcurrencyError",
    "ConsistencyReport",
    "DatabaseBusyError",
    "DeadLetter",
    "Decision",
    "DecisionLog",
    "DefinitionError",
    "DemoSummary",
    "Directive",
    "DuplicateActorError",
    "EngineError",
    "Faults",
    "FunctionParticipant",
    "Holder",
    "IllegalTransitionError",
    "Incident",
    "IncidentRecord",
    "IntegrityError",
    "InvalidMessageError",
    "MailboxFullError",
    "ManualClock",
    "MetricWindow",
    "MetricsCollector",
    "MetricsExporter",
    "MetricsPortError",
    "MetricsSnapshot",
    "NotADatabaseError",
    "Overflow",
    "ParallelGroup",
    "Participant",
    "Percentiles",
    "PersistentActor",
    "Priority",
    "RecentMessage",
    "RemedyError",
    "RemedyUnavailableError",
    "Repair",
    "RestartIntensity",
    "RestartLog",
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
    "Strategy",
    "SupervisorSpec",
    "SystemClock",
    "ThresholdError",
    "Thresholds",
    "UnknownSagaError",
    "UnknownSagaTypeError",
    "Violation",
    "ViolationKind",
    "Watcher",
    "demo_definitions",
    "demo_names",
    "failure_suite_green",
    "incident_steps",
    "install_demo",
    "last_consistency_score",
    "load_definition",
    "load_thresholds",
    "measure",
    "parse_definition",
    "record_failure_suite",
    "recursion_kpis",
    "run_demo",
    "window_data",
]
