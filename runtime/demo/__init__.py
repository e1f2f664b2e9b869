"""A demo domain for venture operations: services with ledgers, saga types, a workload."""

from runtime.demo.participants import DemoParticipant, Faults
from runtime.demo.workload import (
    DemoSummary,
    demo_definitions,
    demo_names,
    demo_participants,
    install_demo,
    run_demo,
    sagas_dir,
)

__all__ = [
    "DemoParticipant",
    "DemoSummary",
    "Faults",
    "demo_definitions",
    "demo_names",
    "demo_participants",
    "install_demo",
    "run_demo",
    "sagas_dir",
]
