"""Slot extractors: turn the words of a normalised command into typed slot values.

Each takes normalised text (see `normalize`) and returns the value INTENTS.md
fixes, or None when the slot was not said.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "second": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "min": 60,
    "m": 60,
    "hour": 3600,
    "hr": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
    "week": 604800,
    "w": 604800,
}
_WINDOW = re.compile(
    r"\b(?:(?:in |over |during |for |from )?(?:the )?(?:last|past|previous)\s+)?"
    r"(?P<n>\d+)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|[smhdw])\b"
)
_BARE_WINDOW = re.compile(
    r"\b(?:in |over |during |for |from )?(?:the )?(?:last|past|previous)\s+"
    r"(?P<unit>second|minute|hour|day|week)\b"
)
_NAMED_WINDOWS = (
    (re.compile(r"\b(?:since )?yesterday\b"), 86400),
    (re.compile(r"\bthis week\b"), 604800),
)


def since_seconds(text: str) -> int | None:
    """The window ending now that the text names, in seconds.

    "last 24 hours", "past day", "24h" → 86400; "last week", "this week" →
    604800; "yesterday", "since yesterday" → 86400. "today" depends on the
    clock, so the parser resolves it with the time it is given.
    """
    match = _WINDOW.search(text)
    if match is not None:
        unit = match.group("unit").rstrip("s") or match.group("unit")
        return int(match.group("n")) * _UNIT_SECONDS[unit]
    match = _BARE_WINDOW.search(text)
    if match is not None:
        return _UNIT_SECONDS[match.group("unit")]
    for pattern, seconds in _NAMED_WINDOWS:
        if pattern.search(text):
            return seconds
    return None


def seconds_since_midnight(hour: int, minute: int, second: int) -> int:
    """What "today" means at a given local time."""
    return hour * 3600 + minute * 60 + second


_LIMIT = re.compile(
    r"\b(?:top|last|first|latest|newest|recent)\s+(?P<n>\d+)\s+"
    r"(?:\w+\s+)?(?:sagas?|ones|results|rows|items|entries)\b"
    r"|\b(?:top|limit(?: to)?)\s+(?P<m>\d+)\b"
    r"|\b(?P<k>\d+)\s+(?:most recent|most recently|latest|newest|last)\b"
)


def limit(text: str) -> int | None:
    """ "top 10", "last 5 sagas", "limit to 20" → the count."""
    match = _LIMIT.search(text)
    if match is None:
        return None
    return int(match.group("n") or match.group("m") or match.group("k"))


_PRONOUN = re.compile(r"\b(?:it|that one|the last one|this saga|that saga|this one)\b")
_SAGA_ID = re.compile(r"\bsaga\s+(?:number\s+|id\s+|#\s*)?(?P<id>[0-9a-f]*\d[0-9a-f]*)\b")
_SAGA_NAME = re.compile(
    r"\bthe\s+(?P<name>(?:(?!the\b|of\b|on\b|step\b)[a-z]+ ){0,2}?"
    r"(?!the\b|of\b|on\b|step\b)[a-z]+)\s+saga\b"
)


def saga_reference(text: str) -> str | None:
    """One saga as said: "saga 42" → "42", "the payment saga" → "payment",
    "it" → "@last"."""
    match = _SAGA_ID.search(text)
    if match is not None:
        return match.group("id")
    match = _SAGA_NAME.search(text)
    if match is not None and match.group("name") not in {"last", "failed", "this", "that"}:
        return snake(match.group("name"))
    if _PRONOUN.search(text):
        return "@last"
    match = _BARE_ID.search(text)
    return match.group("id") if match else None


# "pause 42": a control verb and an id with no "saga" between them.
_BARE_ID = re.compile(
    r"\b(?:pause|stop|halt|hold|freeze|resume|unpause|abort|cancel|kill|undo|compensate|"
    r"approve|describe|retry)\s+(?:sagas?\s+)?(?:#\s*)?(?P<id>\d[0-9a-f]*)\b"
    r"(?!\s*(?:hours?|minutes?|days?))"
)


def snake(words: str) -> str:
    """snake_case of words, or of a CamelCase name: "order fulfillment" → order_fulfillment,
    "ProcessPayment" → process_payment."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", words.strip())
    return "_".join(spaced.lower().replace("-", " ").split())


_ACTOR_NAME = re.compile(
    r"\b(?P<name>[a-z]+[ -](?:checker|collector|dispatcher|processor|orchestrator|manager|"
    r"coordinator|validator|notifier|worker)|[a-z]+-[a-z]+)[ -]"
    r"(?P<n>\d+|(?:to|too|free|tree|for)(?=\s*$))\b"
)
# Whisper writes a final spoken number as its homophone ("backup manager free").
_HOMOPHONES = {"to": "2", "too": "2", "free": "3", "tree": "3", "for": "4"}


def actor_name(text: str) -> str | None:
    """An actor as said: "compliance checker 2" → compliance-checker-2."""
    match = _ACTOR_NAME.search(text)
    if match is None:
        return None
    n = _HOMOPHONES.get(match.group("n"), match.group("n"))
    return "-".join([*match.group("name").replace("-", " ").split(), n])


ACTOR_TYPES = {
    "venture_orchestrator": ("venture orchestrator", "orchestrator"),
    "validation_processor": ("validation processor", "validator"),
    "compliance_checker": ("compliance checker",),
    "notification_dispatcher": ("notification dispatcher", "notifier"),
    "backup_manager": ("backup manager",),
    "metrics_collector": ("metrics collector", "metric collector"),
    "saga_coordinator": ("saga coordinator", "coordinator"),
}


def actor_type(text: str) -> str | None:
    """An actor type, plural and spaced forms included: "notification dispatchers"
    → notification_dispatcher."""
    for name, spoken in ACTOR_TYPES.items():
        for phrase in (name, name.replace("_", " "), *spoken):
            if re.search(rf"\b{phrase}s?\b", text):
                return name
    return None


_SAGA_STATUSES = {
    "failed": ("failures", "failure", "failed", "failing", "broken", "errored", "error", "errors"),
    "pending": ("pending", "queued"),
    "running": ("running", "in flight", "in progress", "active"),
    "paused": ("paused", "on hold"),
    "waiting_approval": (
        "waiting for approval",
        "awaiting approval",
        "waiting approval",
        "need approval",
        "needing approval",
        "pending approval",
    ),
    "compensating": ("compensating",),
    "completed": ("completed", "finished", "succeeded", "successful", "done"),
    "rolled_back": ("rolled back", "rolled-back"),
    "cancelled": ("cancelled", "canceled", "aborted"),
}
_ACTOR_STATUSES = {
    "active": ("healthy", "running", "up", "active"),
    "inactive": ("idle", "stopped", "inactive"),
    "failed": ("failed", "failure", "failures", "broken", "crashed", "down", "dead", "failing"),
    "recovering": ("restarting", "recovering"),
}


def without_statuses(text: str) -> str:
    """The text with every saga status phrase taken out."""
    for words in _SAGA_STATUSES.values():
        for word in sorted(words, key=len, reverse=True):
            text = re.sub(rf"\b{word}\b", " ", text)
    return " ".join(text.split())


def saga_status(text: str) -> str | None:
    """The saga status a query names; "failures" and the like → failed."""
    return _find(text, _SAGA_STATUSES)


def actor_status(text: str) -> str | None:
    return _find(text, _ACTOR_STATUSES)


def _find(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    best: tuple[int, str] | None = None
    for value, words in table.items():
        for word in words:
            match = re.search(rf"\b{word}\b", text)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), value)
    return best[1] if best else None


def metric(text: str) -> tuple[str | None, int | None]:
    """(metric, percentile): "p95 latency" → (latency, 95), "median latency" → (latency, 50)."""
    percentile = None
    match = re.search(r"\bp\s?(50|95|99)\b|\b(50|95|99)(?:th)? percentile\b", text)
    if match:
        percentile = int(match.group(1) or match.group(2))
    elif re.search(r"\bmedian\b", text):
        percentile = 50
    if re.search(r"\b(?:all|every) metrics?\b", text):
        return "all", percentile
    for name, pattern in (
        ("success_rate", r"success(?: rate)?|failure rate|transaction rate"),
        ("latency", r"latency|latencies|response times?|how long"),
        ("consistency", r"consistency(?: score)?"),
        ("throughput", r"throughput|sagas per second|tps"),
    ):
        if re.search(rf"\b(?:{pattern})\b", text):
            return name, percentile
    return ("latency" if percentile else None), percentile


_TRIGGERS = (
    ("SAGA-001", r"transaction failures?|failure rate|saga (?:one|1) (?:trigger|incidents?)"),
    ("SAGA-002", r"compensation(?: failures?)?|saga (?:two|2) (?:trigger|incidents?)"),
    (
        "SAGA-003",
        r"actor supervision|restart storms?|supervision|saga (?:three|3) "
        r"(?:trigger|incidents?)",
    ),
    ("SAGA-004", r"consistency(?: verified)?|saga (?:four|4) (?:trigger|incidents?)"),
)


def trigger(text: str) -> str | None:
    """The recursion trigger an incidents query names, or None for all of them."""
    match = re.search(r"\bsaga[- ]?00?([1-4])\b", text)
    if match:
        return f"SAGA-00{match.group(1)}"
    for name, pattern in _TRIGGERS:
        if re.search(rf"\b(?:{pattern})\b", text):
            return name
    return None


def venture(text: str) -> str | None:
    """ "for venture Acme" → acme."""
    match = re.search(
        r"\bventure\s+(?!onboarding\b|orchestrators?\b)(?P<name>[a-z][a-z0-9_-]*)", text
    )
    return match.group("name") if match else None


_VERBS = {"retry", "rerun", "re-run", "redo", "run", "repeat", "the"}
_NOT_A_STEP = {"failed", "failing", "broken", "last", "that", "this", ""}


def step(text: str) -> str | None:
    """ "the payment step" → payment, "step process_payment" → process_payment;
    "the failed step" gives no slot."""
    after = re.search(r"\bstep\s+(?P<name>[a-z][a-z0-9_]*)\b", text)
    if after is not None and after.group("name") not in {"of", "in", "for", "on", "from", "and"}:
        return snake(after.group("name"))
    before = re.search(r"(?P<name>[a-z][a-z0-9_ ]*?)\s+step\b", text)
    if before is None:
        return None
    words = [w for w in before.group("name").split() if w not in _VERBS]
    name = " ".join(words)
    return None if name in _NOT_A_STEP else snake(name)
