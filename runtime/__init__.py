"""EVA's engine: durable sagas (and actors) on SQLite or PostgreSQL.

Public API: `Runtime` and the types it hands out. This package imports
nothing of EVA's other packages; they import `runtime`, `runtime.errors`
and `runtime.events` only.

Exports load on first use (PEP 562): a program of actors alone imports the
actor system, not the store (SQLAlchemy, Alembic) it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS: dict[str, tuple[str, str]] = {
    "Actor": ("runtime.actors.actor", "Actor"),
    "ActorContext": ("runtime.actors.actor", "ActorContext"),
    "ActorError": ("runtime.errors", "ActorError"),
    "ActorFailedError": ("runtime.errors", "ActorFailedError"),
    "ActorInfo": ("runtime.actors.system", "ActorInfo"),
    "ActorNotFoundError": ("runtime.errors", "ActorNotFoundError"),
    "ActorRef": ("runtime.actors.ref", "ActorRef"),
    "ActorStatus": ("runtime.actors.actor", "ActorStatus"),
    "ActorStoppedError": ("runtime.errors", "ActorStoppedError"),
    "ActorSystem": ("runtime.actors.system", "ActorSystem"),
    "ActorType": ("runtime.actors.actor", "ActorType"),
    "AskTimeoutError": ("runtime.errors", "AskTimeoutError"),
    "Clock": ("runtime.clock", "Clock"),
    "ConcurrencyError": ("runtime.errors", "ConcurrencyError"),
    "ConsistencyReport": ("runtime.observe.consistency", "ConsistencyReport"),
    "DatabaseBusyError": ("runtime.errors", "DatabaseBusyError"),
    "DeadLetter": ("runtime.sagas.queries", "DeadLetter"),
    "Decision": ("runtime.decisions", "Decision"),
    "DecisionLog": ("runtime.decisions", "DecisionLog"),
    "DefinitionError": ("runtime.errors", "DefinitionError"),
    "DemoSummary": ("runtime.demo", "DemoSummary"),
    "Backoff": ("runtime.actors.supervision", "Backoff"),
    "Directive": ("runtime.actors.supervision", "Directive"),
    "DuplicateActorError": ("runtime.errors", "DuplicateActorError"),
    "EngineError": ("runtime.errors", "EngineError"),
    "FAILURE_STATUSES": ("runtime.sagas.queries", "FAILURE_STATUSES"),
    "Faults": ("runtime.demo", "Faults"),
    "FunctionParticipant": ("runtime.sagas.participants", "FunctionParticipant"),
    "Holder": ("runtime.observe.consistency", "Holder"),
    "IllegalTransitionError": ("runtime.errors", "IllegalTransitionError"),
    "Incident": ("runtime.sagas.queries", "Incident"),
    "IncidentRecord": ("runtime.observe.incidents", "IncidentRecord"),
    "IntegrityError": ("runtime.errors", "IntegrityError"),
    "InvalidMessageError": ("runtime.errors", "InvalidMessageError"),
    "MailboxFullError": ("runtime.errors", "MailboxFullError"),
    "ManualClock": ("runtime.clock", "ManualClock"),
    "MetricWindow": ("runtime.observe.windows", "MetricWindow"),
    "MetricsCollector": ("runtime.observe.prometheus", "MetricsCollector"),
    "MetricsExporter": ("runtime.observe.prometheus", "MetricsExporter"),
    "MetricsPortError": ("runtime.observe.prometheus", "MetricsPortError"),
    "MetricsSnapshot": ("runtime.observe.prometheus", "MetricsSnapshot"),
    "NotADatabaseError": ("runtime.errors", "NotADatabaseError"),
    "Overflow": ("runtime.actors.mailbox", "Overflow"),
    "PROFILES": ("runtime.observe.windows", "PROFILES"),
    "ParallelGroup": ("runtime.sagas.definition", "ParallelGroup"),
    "Participant": ("runtime.sagas.participants", "Participant"),
    "Percentiles": ("runtime.observe.windows", "Percentiles"),
    "PersistentActor": ("runtime.actors.persistent", "PersistentActor"),
    "Priority": ("runtime.actors.mailbox", "Priority"),
    "RecentMessage": ("runtime.actors.system", "RecentMessage"),
    "RemedyError": ("runtime.observe.remedies", "RemedyError"),
    "RemedyUnavailableError": ("runtime.observe.remedies", "RemedyUnavailableError"),
    "Repair": ("runtime.observe.consistency", "Repair"),
    "RestartIntensity": ("runtime.actors.supervision", "RestartIntensity"),
    "RestartLog": ("runtime.observe.metrics", "RestartLog"),
    "RetryPolicy": ("runtime.sagas.definition", "RetryPolicy"),
    "Runtime": ("runtime.facade", "Runtime"),
    "RuntimeEvent": ("runtime.events", "RuntimeEvent"),
    "SagaDefinition": ("runtime.sagas.definition", "SagaDefinition"),
    "SagaState": ("runtime.sagas.state", "SagaState"),
    "SagaStatus": ("runtime.sagas.state", "SagaStatus"),
    "SagaSummary": ("runtime.sagas.queries", "SagaSummary"),
    "StepCall": ("runtime.sagas.participants", "StepCall"),
    "StepDefinition": ("runtime.sagas.definition", "StepDefinition"),
    "StepError": ("runtime.errors", "StepError"),
    "StepKind": ("runtime.sagas.definition", "StepKind"),
    "StepState": ("runtime.sagas.state", "StepState"),
    "StepStatus": ("runtime.sagas.state", "StepStatus"),
    "StoreError": ("runtime.errors", "StoreError"),
    "Strategy": ("runtime.actors.supervision", "Strategy"),
    "SupervisorSpec": ("runtime.actors.supervision", "SupervisorSpec"),
    "SystemClock": ("runtime.clock", "SystemClock"),
    "ThresholdError": ("runtime.errors", "ThresholdError"),
    "Thresholds": ("runtime.observe.windows", "Thresholds"),
    "UnknownSagaError": ("runtime.errors", "UnknownSagaError"),
    "UnknownSagaTypeError": ("runtime.errors", "UnknownSagaTypeError"),
    "Violation": ("runtime.observe.consistency", "Violation"),
    "ViolationKind": ("runtime.observe.consistency", "ViolationKind"),
    "Watcher": ("runtime.observe.watcher", "Watcher"),
    "demo_definitions": ("runtime.demo", "demo_definitions"),
    "demo_names": ("runtime.demo", "demo_names"),
    "failure_suite_green": ("runtime.observe.suite", "failure_suite_green"),
    "incident_steps": ("runtime.observe.incidents", "steps"),
    "install_demo": ("runtime.demo", "install_demo"),
    "last_consistency_score": ("runtime.observe.consistency", "last_score"),
    "load_definition": ("runtime.sagas.definition", "load_definition"),
    "load_thresholds": ("runtime.observe.thresholds", "load_thresholds"),
    "measure": ("runtime.observe.metrics", "measure"),
    "parse_definition": ("runtime.sagas.definition", "parse_definition"),
    "record_failure_suite": ("runtime.observe.suite", "record_failure_suite"),
    "recursion_kpis": ("runtime.observe.incidents", "recursion_kpis"),
    "run_demo": ("runtime.demo", "run_demo"),
    "window_data": ("runtime.observe.metrics", "window_data"),
}
"""Each public name: the module that defines it, and its name there."""


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
