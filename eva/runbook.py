"""Runbooks: a text file of commands, one per line, with `expect` lines that check replies.

    # the SOP's rollback procedure
    pause intake because of the rollback
    expect intake paused
    show running sagas
    run a consistency check
    expect journal intact

`expect` lines assert on the previous reply: "expect no failed sagas",
"expect 3 sagas", "expect success rate above 99%", or any words the reply
must contain ("expect intake paused").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eva.assistant import Assistant
from eva.replies import Reply
from intents import parse


class RunbookError(Exception):
    """A runbook line cannot be run; names the file and line."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}, line {line}: {problem}")


@dataclass(frozen=True, slots=True)
class Step:
    line: int
    text: str
    expect: bool


def load(path: Path) -> list[Step]:
    """The steps of a runbook file.

    Raises:
        RunbookError: the file cannot be read, or a line is not a command or expectation.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RunbookError(str(path), 0, f"cannot read it ({exc})") from None
    steps: list[Step] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        if text.lower().startswith("expect"):
            claim = text[6:].strip()
            if not claim:
                raise RunbookError(str(path), number, "'expect' needs something to expect")
            if not any(not s.expect for s in steps):
                raise RunbookError(str(path), number, "'expect' must follow a command")
            steps.append(Step(number, claim, True))
            continue
        if parse(text).command.intent == "unknown":
            raise RunbookError(str(path), number, f"not a command EVA knows: {text!r}")
        steps.append(Step(number, text, False))
    return steps


_COUNT = re.compile(r"^(?P<n>no|\d+)\s+(?P<what>.+)$")
_ABOVE = re.compile(
    r"^(?P<what>.+?)\s+(?P<op>above|below|at least|at most)\s+"
    r"(?P<value>[\d.]+)\s*%?$"
)


def check(claim: str, reply: Reply) -> str | None:
    """None if the reply meets the claim, else what went wrong."""
    said = reply.text.lower()
    claim = claim.lower().strip()
    above = _ABOVE.match(claim)
    if above:
        found = re.search(r"([\d.]+)%", said)
        if found is None:
            return f"expected {claim}, but the reply has no percentage: {reply.text!r}"
        value, target = float(found.group(1)), float(above.group("value"))
        ok = {
            "above": value > target,
            "below": value < target,
            "at least": value >= target,
            "at most": value <= target,
        }[above.group("op")]
        return None if ok else f"expected {claim}, got {value}%"
    count = _COUNT.match(claim)
    if count and "count" in reply.data:
        expected = 0 if count.group("n") == "no" else int(count.group("n"))
        actual = reply.data["count"]
        return None if actual == expected else f"expected {claim}, got {actual}: {reply.text!r}"
    words = [w for w in re.findall(r"[a-z0-9]+", claim) if w not in {"is", "the", "a", "an"}]
    missing = [w for w in words if w not in said]
    return None if not missing else f"expected {claim!r}, the reply was {reply.text!r}"


async def run(
    steps: list[Step],
    assistant: Assistant,
    *,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Run the steps; the number of the line whose expectation failed, or 0."""
    reply: Reply | None = None
    for step in steps:
        if step.expect:
            if dry_run or reply is None:
                echo(f"  expect {step.text}")
                continue
            problem = check(step.text, reply)
            if problem:
                echo(f"FAIL line {step.line}: {problem}")
                return step.line
            echo(f"  ok: {step.text}")
            continue
        echo(f"> {step.text}")
        if dry_run:
            parsed = parse(step.text)
            echo(f"  would run {parsed.command.intent} {parsed.command.slots()}")
            continue
        reply = await assistant.handle(step.text)
        if reply.awaiting_confirmation:
            assistant.pending = None
            echo(f"  {reply.text} (not confirmed: run with --yes or end the line with !)")
            echo(f"FAIL line {step.line}: a destructive step needs --yes")
            return step.line
        echo(f"  {reply.text}")
    return 0
