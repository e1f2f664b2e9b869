"""The grammar, as data: which words make which intent, in the order they are tried.

Each rule is an intent and a pattern over normalised text (reason and "!"
already taken off). Patterns are built from word lists compiled once at
import. The order encodes INTENTS.md's "where intents meet": intake words
win over saga verbs, "force a rollback" is compensation before "rollback" is
an abort, "restart" is an actor intent only for something actor-shaped.
"""

from __future__ import annotations

import re


def _words(*phrases: str) -> str:
    return "(?:" + "|".join(sorted(phrases, key=len, reverse=True)) + ")"


SAGA = r"(?:sagas?|transactions?|workflows?)"
SHOW = _words(
    "show",
    "list",
    "display",
    "give",
    "get",
    "find",
    "which",
    "what",
    "whats",
    "any",
    "are there",
    "how many",
    "tell me",
    "see",
    "view",
    "fetch",
    "pull up",
    "bring up",
    "report",
    "print",
    "count",
    "where",
    "who",
)
ACTOR_NOUN = _words(
    "actor",
    "actors",
    "dispatcher",
    "dispatchers",
    "checker",
    "checkers",
    "collector",
    "collectors",
    "processor",
    "processors",
    "orchestrator",
    "orchestrators",
    "manager",
    "managers",
    "coordinator",
    "coordinators",
    "validator",
    "validators",
    "notifier",
    "notifiers",
)
INTAKE = _words(
    "new sagas",
    "new saga",
    "intake",
    "accepting",
    "accept",
    "incoming sagas",
    "new transactions",
    "new ones",
    "new work",
    "new orders",
    "starting sagas",
    "start of new sagas",
    "new saga starts",
)
# "new order fulfillment sagas": intake of one saga type.
INTAKE = rf"(?:{INTAKE}|\bnew (?:[a-z_]+ ){{1,4}}{SAGA})"

TARGET = re.compile(
    r"\b(?:sagas?|transactions?|workflows?|it|that one|this one|last one|everything|all|"
    r"every|step|\d+[0-9a-f]*|[0-9a-f]*\d[0-9a-f]*)\b"
)
"""A saga control needs something saga-shaped to act on ("restart the database" is not one)."""

SAGA_CONTROLS = frozenset(
    {"retry_step", "force_compensation", "cancel_saga", "approve_saga", "resume_saga", "pause_saga"}
)

ACTOR_SHAPED = (
    r"(?:\b[a-z]+-[a-z]+-\d+\b|\b[a-z]+ (?:checker|collector|dispatcher|processor|"
    r"orchestrator|manager|coordinator|validator|notifier|worker) \d+\b)"
)
"""An actor's name: words and a number (compliance-checker-2, "metrics collector 1")."""

RULES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "help",
            r"^(?:i need |show |get |give me |)help(?: me)?(?: out)?$|"
            r"^what can i (?:say|ask|tell)\b|^what can you do\b|\bwhat do you (?:do|understand)\b|"
            r"\bexamples?\b|\bwhat are my options\b|\bwhat you can do\b|"
            r"^(?:list |show )?commands$|\bhow do i use (?:you|this|eva)\b|"
            r"^what commands\b|\bhow does this work\b|^usage$",
        ),
        (
            "resume_intake",
            rf"\b(?:resume|reopen|re-open|open|unpause|un-pause|restart|allow|"
            rf"start accepting|accept|let|turn on|enable|continue)\b.*\b{INTAKE}\b"
            rf"|\b{INTAKE}\b.*\b(?:back on|open again|resume)\b"
            r"|\b(?:start|begin|resume) (?:accepting|taking|admitting|letting in)\b",
        ),
        (
            "pause_intake",
            rf"\b(?:stop|pause|halt|freeze|block|suspend|close|no more|hold|"
            rf"reject|refuse|turn off|disable|dont|do not|quit)\b.*\b{INTAKE}\b"
            rf"|\b{INTAKE}\b.*\b(?:off|stop|paused|closed|pause)\b"
            r"|\bstop (?:accepting|taking|admitting|letting in)\b",
        ),
        (
            "check_consistency",
            r"\b(?:run|do|start|perform|kick off|trigger|execute|launch|verify|validate|"
            r"audit)\b.*\bconsisten(?:cy|t)\b|\bcheck\b.*\bfor consistency\b|"
            r"\bconsistency (?:check|validation|validator|"
            r"audit|scan)\b|\bcheck (?:the |for )?consistency\b|"
            r"\b(?:is|are) (?:everything|things|the data|sagas|we|the store) consistent\b",
        ),
        (
            "list_incidents",
            r"\b(?:incidents?|triggers?|firings?|fired|recursion|alerts|storms?|"
            r"remediations?|saga-00\d)\b",
        ),
        (
            "list_decisions",
            r"\b(?:decisions?|decided|decision log|audit log|audit trail|my rulings?)\b",
        ),
        (
            "list_dead_letters",
            r"\b(?:dead[ -]letters?|dead[ -]lettered|undeliverable|dlq|undelivered|"
            r"(?:could|can) ?not be delivered|not delivered|failed deliveries|"
            # Speech loses "dead" ("show get letters"); letters mean nothing else here.
            r"letters?)\b",
        ),
        (
            "restart_actor",
            rf"\b(?:restart|reboot|bounce|revive|respawn|relaunch|kick)\b.*"
            rf"(?:\b{ACTOR_NOUN}\b|{ACTOR_SHAPED})",
        ),
        (
            "stop_actor",
            rf"\b(?:stop|kill|terminate|shut down|shutdown|halt)\b.*"
            rf"(?:\b{ACTOR_NOUN}\b|{ACTOR_SHAPED})",
        ),
        ("list_actors", rf"\b{ACTOR_NOUN}\b"),
        (
            "show_metrics",
            r"\b(?:metrics?|latency|latencies|throughput|success rate|"
            r"failure rate|consistency score|consistency|p50|p95|p99|median|"
            r"percentile|tps|how fast|response times?|sagas per second|"
            r"stats|statistics|kpis?)\b",
        ),
        ("retry_step", r"\b(?:retry|rerun|re-run|redo|re-try|try again|run again)\b"),
        (
            "force_compensation",
            r"\b(?:compensate|force (?:the )?compensations?|force (?:a )?roll ?back|"
            r"force (?:a )?rollback|force undo|(?:run|trigger|start|do|kick off|execute) "
            r"(?:the |its )?compensations?|compensation on)\b",
        ),
        (
            "cancel_saga",
            r"\b(?:roll ?back|rollback|undo|abort|cancel|kill|terminate|scrap|revert)\b",
        ),
        (
            "approve_saga",
            r"\b(?:approve|approved|continue|carry on|proceed|sign off|"
            r"signoff|green ?light|go ahead|let .* (?:continue|proceed|go)|"
            r"ok to proceed|okay)\b",
        ),
        ("resume_saga", r"\b(?:resume|unpause|un-pause|unfreeze|restart|unhold|release)\b"),
        ("pause_saga", r"\b(?:pause|stop|halt|hold|freeze|suspend|put .* on hold)\b"),
        (
            "start_saga",
            rf"\b(?:start|launch|kick off|begin|run|create|open|trigger|fire off|"
            rf"initiate|spin up)\b.*\b{SAGA}\b",
        ),
        (
            "describe_saga",
            r"\b(?:what happened to|whats happening with|describe|details|"
            r"detail|status of|tell me (?:more )?about|explain|how is|hows|what about|"
            r"where is|what is going on with|whats going on with|inspect|story|"
            r"how far|what went wrong|why did)\b",
        ),
        (
            "list_sagas",
            rf"^(?!.*\b(?:drop|delete|truncate|insert|select|update|table)\b)"
            rf"(?:.*\b{SHOW}\b.*\b{SAGA}\b|(?:[a-z0-9_]+ ){{0,4}}{SAGA}\b)",
        ),
    )
]
"""Tried in order; the first that matches names the intent."""

EXAMPLES = {
    "list_sagas": "show saga failures in the last 24 hours",
    "describe_saga": "what happened to saga 42",
    "start_saga": "start an order fulfillment saga for venture acme",
    "pause_saga": "pause saga 42",
    "resume_saga": "resume saga 42",
    "cancel_saga": "abort saga 42 because the customer withdrew",
    "force_compensation": "force compensation on saga 42",
    "retry_step": "retry the payment step of saga 42",
    "approve_saga": "approve saga 42",
    "pause_intake": "stop accepting new sagas",
    "resume_intake": "resume new sagas",
    "list_actors": "show failed actors",
    "restart_actor": "restart actor compliance-checker-2",
    "stop_actor": "stop actor metrics-collector-1",
    "list_dead_letters": "show dead letters from the last hour",
    "show_metrics": "show p95 latency",
    "check_consistency": "run a consistency check",
    "list_incidents": "show recursion incidents",
    "list_decisions": "show my decisions from yesterday",
    "help": "help",
}
"""One typical command per intent: suggestions and `help` draw on these."""

_EVERYDAY = (
    "the a an of to in on at for from with by and or but not no is are was were be been "
    "this that these those it its there their them they what whats which who when where how "
    "why all any some every each many much more most other about into over under since then "
    "than just only also very can could would should will shall may might must do does did "
    "done have has had get got give show tell let make please thanks thank you your my me "
    "our we us i one two three hour hours week day days minute minutes today yesterday now "
    "last past previous next first top new old right wrong good bad going happened "
    "happening here back again still ever need want like know see look find list kind sort "
    "type types rate"
    " recent latest newest oldest most least timing timings health story journal example"
    " examples steps messages message alert alerts doing doings station market stock weather"
    " nearest where time times slow fast"
)
COMMON = frozenset(_EVERYDAY.split())
"""Everyday words: never mended towards the vocabulary."""

VOCABULARY = frozenset(
    word for _, pattern in RULES for word in re.findall(r"[a-z]{4,}", pattern.pattern)
) | frozenset(
    [
        "saga",
        "sagas",
        "failed",
        "failures",
        "running",
        "paused",
        "compensating",
        "completed",
        "pending",
        "approval",
        "waiting",
        "cancelled",
        "actor",
        "actors",
        "payment",
        "order",
        "fulfillment",
        "venture",
        "onboarding",
        "hours",
        "minutes",
        "days",
        "week",
        "yesterday",
        "last",
        "past",
        "show",
        "step",
        "because",
        "healthy",
        "crashed",
        "restarting",
        "latency",
        "compliance",
        "checker",
        "notification",
        "dispatcher",
        "metrics",
        "collector",
        "backup",
        "manager",
        "validation",
        "processor",
        "orchestrator",
        "coordinator",
        "incidents",
        "decisions",
        "letters",
        "consistency",
        "throughput",
        "transaction",
        "transactions",
        "success",
        "pause",
        "resume",
        "abort",
        "cancel",
        "approve",
        "retry",
        "restart",
        "stop",
        "describe",
        "happened",
        "compensation",
        "compensate",
        "intake",
        "accepting",
        "dead",
        "trigger",
        "recursion",
        "supervision",
        "storm",
        "median",
        "percentile",
        "rolled",
        "inventory",
        "reserve",
        "charge",
        "confirm",
        "notify",
    ]
)
"""Words a typo is mended towards."""
