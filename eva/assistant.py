"""The assistant: a command in words becomes a runtime call, a decision record and a reply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import process

from eva.llm import LLMFallback
from eva.monitor import Monitor
from eva.replies import (
    Reply,
    completion_report_words,
    describe_saga,
    describe_sagas,
    plural,
    saga_rows,
    step_rows,
    window_words,
)
from intents import (
    ACTIONS,
    CONFIDENCE_FLOOR,
    DESTRUCTIVE,
    EXAMPLES,
    Command,
    ParseResult,
    parse,
)
from runtime import (
    FAILURE_STATUSES,
    EngineError,
    Runtime,
    SagaSummary,
    ViolationKind,
    incident_steps,
    recursion_kpis,
)

_YES = re.compile(r"^\s*(?:y|yes|yeah|yep|confirm|confirmed|do it|go ahead|ok|okay|sure)\b", re.I)
_NO = re.compile(r"^\s*(?:n|no|nope|cancel|stop|don't|do not|never mind|abort that)\b", re.I)

HEARING_FLOOR = 0.35
"""Below this transcript confidence EVA asks to hear the command again (bench/voice.py)."""
SAGA_FILTERS = ("status", "since_seconds", "saga_type", "venture", "limit")
"""The slots of "show ... sagas" that filter the saga table."""
_ROWS = 200
"""Most rows a listing shows; the reply still counts them all."""
_ACTIVE = ["pending", "running", "paused", "waiting_approval", "compensating"]
_CONTROLS = {"pause_saga", "resume_saga", "cancel_saga", "force_compensation"}
_VERBS = {
    "pause_saga": "Pause",
    "resume_saga": "Resume",
    "cancel_saga": "Abort",
    "force_compensation": "Force compensation on",
}


class _ClarifyError(Exception):
    """The command needs more from the Chairman: the message says what."""


@dataclass
class _Pending:
    parsed: ParseResult
    text: str
    targets: list[str]
    heard: float | None


class Assistant:
    """Handles the Chairman's commands against one runtime, keeping the conversation.

    Args:
        runtime: an open `Runtime`.
        who: whose decisions these are, for the log.
        assume_yes: execute destructive commands without asking (runbooks with --yes).
        llm: asked when the grammar does not understand (see `eva.llm`).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        who: str = "chairman",
        assume_yes: bool = False,
        llm: LLMFallback | None = None,
    ) -> None:
        self.runtime = runtime
        self.llm = llm
        self.who = who
        self.assume_yes = assume_yes
        self.last_saga: str | None = None
        self.pending: _Pending | None = None

    async def handle(self, text: str, *, transcript_confidence: float | None = None) -> Reply:
        """Answer one command (or the yes/no to a pending confirmation); never raises.

        A `transcript_confidence` marks the text as heard, not typed: below
        `HEARING_FLOOR` EVA asks again instead of acting, and a destructive
        command heard is always read back for a spoken yes (a "!" in a transcript
        is Whisper's punctuation, not the Chairman's confirmation).
        """
        try:
            return await self._handle(text, transcript_confidence)
        except _ClarifyError as question:
            return Reply(str(question), "clarify", ok=False)
        except EngineError as exc:
            return Reply(str(exc)[:1].upper() + str(exc)[1:], "error", ok=False)

    async def _handle(self, text: str, confidence: float | None) -> Reply:
        if confidence is not None and confidence < HEARING_FLOOR:
            # Nothing changes, and a pending question stays open for the repeat.
            return Reply(
                f'I am not sure I heard that right ("{text}"). Please say it again.',
                "repeat",
                ok=False,
                data={"transcript": text, "transcript_confidence": confidence},
            )
        if self.pending is not None:
            pending, self.pending = self.pending, None
            if _YES.match(text):
                how = "spoken yes" if confidence is not None else "confirmed"
                return await self._execute(
                    pending.parsed, pending.text, pending.targets, how, pending.heard
                )
            if _NO.match(text):
                return Reply("Cancelled; nothing was changed.", pending.parsed.command.intent)
        parsed = parse(text)
        if confidence is not None and parsed.confirmed:
            parsed = ParseResult(parsed.command, parsed.confidence, parsed.suggestions, False)
        command = parsed.command
        intent = command.intent
        if intent == "unknown" and self.llm is not None:
            asked = await self.llm.command(text)
            if asked is not None:
                # The model's reading goes through the same checks as a typed one.
                parsed = ParseResult(asked, CONFIDENCE_FLOOR, (), parsed.confirmed)
                return await self._dispatch(parsed, text, confidence)
        if intent == "unknown":
            hint = "; ".join(f'"{s}"' for s in parsed.suggestions) or '"help"'
            return Reply(
                f"I didn't understand that. Try {hint}.",
                "unknown",
                ok=False,
                data={"suggestions": list(parsed.suggestions)},
            )
        return await self._dispatch(parsed, text, confidence)

    async def run_command(
        self, command: Command, *, text: str = "", confirmed: bool = False
    ) -> Reply:
        """Carry out a command given as a model (an LLM agent's tool call), with the same
        resolution, confirmation and decision record as a typed one; never raises."""
        parsed = ParseResult(command, 1.0, (), confirmed)
        said = text or f"(tool) {command.intent} {command.slots()}"
        try:
            return await self._dispatch(parsed, said, None)
        except _ClarifyError as question:
            return Reply(str(question), "clarify", ok=False)
        except EngineError as exc:
            return Reply(str(exc)[:1].upper() + str(exc)[1:], "error", ok=False)

    async def _dispatch(self, parsed: ParseResult, text: str, confidence: float | None) -> Reply:
        intent = parsed.command.intent
        slots = parsed.command.slots()
        if intent in ACTIONS:
            targets = await self._targets(intent, slots)
            bulk = intent in _CONTROLS and "saga" not in slots
            spoken = confidence is not None
            asked = parsed.confirmed or (self.assume_yes and not spoken)
            if (intent in DESTRUCTIVE or bulk) and not asked:
                self.pending = _Pending(parsed, text, targets, confidence)
                return Reply(
                    await self._readback(intent, slots, targets),
                    intent,
                    awaiting_confirmation=True,
                    data={"targets": targets},
                )
            how = (
                "typed !"
                if parsed.confirmed
                else ("runbook --yes" if self.assume_yes else "not needed")
            )
            return await self._execute(parsed, text, targets, how, confidence)
        return await self._query(intent, slots)

    async def find_sagas(self, filter: dict[str, Any]) -> list[SagaSummary]:
        """The sagas a filter in slot form selects (what a "show ... sagas" reply carries
        in `data["filter"]`), newest first, at most its limit or 200."""
        filters = self._saga_filters(filter)
        return await self.runtime.query_sagas(**filters, limit=filter.get("limit") or _ROWS)

    def _saga_filters(self, slots: dict[str, Any]) -> dict[str, Any]:
        status = slots.get("status")
        kind = slots.get("saga_type")
        return {
            "status": list(FAILURE_STATUSES) if status == "failed" else status,
            "since_seconds": slots.get("since_seconds"),
            "saga_type": self._saga_type(kind) if kind else None,
            "venture": slots.get("venture"),
        }

    # --- resolving references ---------------------------------------------

    async def _saga(self, said: str) -> str:
        if said == "@last":
            if self.last_saga is None:
                raise _ClarifyError("Which saga? I have none in mind yet; say its number.")
            return self.last_saga
        try:
            await self.runtime.get_saga(said)
            return said
        except EngineError:
            pass
        kind = self._saga_type(said)
        if kind is not None:
            live = await self.runtime.query_sagas(status=_ACTIVE, saga_type=kind)
            if len(live) == 1:
                return live[0].saga_id
            if live:
                ids = ", ".join(s.saga_id for s in live[:5])
                raise _ClarifyError(
                    f"Which {kind} saga? {plural(len(live), 'is')} in flight: {ids}."
                )
        raise _ClarifyError(f"I know no saga {said!r}; {await self._nearest_sagas(said)}")

    async def _nearest_sagas(self, said: str) -> str:
        recent = await self.runtime.query_sagas(limit=500)
        if not recent:
            return "there are no sagas yet."
        if said.isdigit():
            ids = sorted(
                (s.saga_id for s in recent if s.saga_id.isdigit()),
                key=lambda i: abs(int(i) - int(said)),
            )[:3]
        else:
            names = {s.saga_type for s in recent} | {s.saga_id for s in recent}
            ids = [n for n, _, _ in process.extract(said, list(names), limit=3)]
        return f"the closest are {', '.join(ids)}."

    def _saga_type(self, said: str) -> str | None:
        types = self.runtime.saga_types
        if said in types:
            return said
        prefixed = [t for t in types if t.startswith(said)]
        return prefixed[0] if len(prefixed) == 1 else None

    def _intake_type(self, slots: dict[str, Any]) -> str | None:
        """The registered saga type an intake command names, if it names one."""
        said = slots.get("saga_type")
        if not said:
            return None
        kind = self._saga_type(str(said))
        if kind is None:
            raise _ClarifyError(
                f"I know no saga type {said!r}; the types are {', '.join(self.runtime.saga_types)}."
            )
        return kind

    async def _targets(self, intent: str, slots: dict[str, Any]) -> list[str]:
        if intent in ("pause_intake", "resume_intake"):
            self._intake_type(slots)  # an unknown type is asked about before any read-back
            return []
        if "saga" in slots:
            saga_id = await self._saga(slots["saga"])
            self.last_saga = saga_id
            return [saga_id]
        if intent in _CONTROLS:
            kind = slots.get("saga_type")
            saga_type = self._saga_type(kind) if kind else None
            if kind and saga_type is None:
                raise _ClarifyError(
                    f"I know no saga type {kind!r}; the types are "
                    f"{', '.join(self.runtime.saga_types)}."
                )
            status = slots.get("status")
            statuses = (
                list(FAILURE_STATUSES) if status == "failed" else [status] if status else _ACTIVE
            )
            found = await self.runtime.query_sagas(status=statuses, saga_type=saga_type)
            return [s.saga_id for s in found]
        if intent in ("retry_step", "approve_saga"):
            if self.last_saga is None:
                raise _ClarifyError("Which saga? Say its number.")
            return [self.last_saga]
        return []

    async def _readback(self, intent: str, slots: dict[str, Any], targets: list[str]) -> str:
        if intent in _CONTROLS and "saga" in slots:
            state = await self.runtime.get_saga(targets[0])
            done = [s for s in state.steps if s.status.value == "completed"]
            text = (
                f"{_VERBS[intent]} saga {state.saga_id}, {state.saga_type}"
                f"{' for venture ' + state.venture if state.venture else ''}"
            )
            if intent in ("cancel_saga", "force_compensation"):
                text += f": {plural(len(done), 'completed step')} will be undone"
            return text + ". Confirm?"
        if intent in _CONTROLS:
            return f"{_VERBS[intent]} {plural(len(targets), 'saga')}. Confirm?"
        if intent == "pause_intake":
            kind = self._intake_type(slots)
            return (
                f"Stop accepting new {kind + ' ' if kind else ''}sagas; "
                "in-flight sagas will finish. Confirm?"
            )
        if intent == "stop_actor":
            return f"Stop actor {_actor_path(self.runtime, slots)}. Confirm?"
        return "Confirm?"

    # --- acting -------------------------------------------------------------

    async def _execute(
        self,
        parsed: ParseResult,
        text: str,
        targets: list[str],
        confirmation: str,
        confidence: float | None,
    ) -> Reply:
        command = parsed.command
        intent, slots = command.intent, command.slots()
        reason = str(slots.get("reason", ""))
        call = f"{intent}({', '.join(targets) or ', '.join(f'{k}={v}' for k, v in slots.items())})"
        decision = await self.runtime.decisions.record(
            intent=intent,
            slots=slots,
            text=text,
            call=call,
            saga_id=targets[0] if len(targets) == 1 else None,
            who=self.who,
            confirmation=confirmation,
            reasoning=reason,
            transcript=text if confidence is not None else None,
            transcript_confidence=confidence,
        )
        try:
            reply = await self._act(intent, slots, targets, reason)
        except (EngineError, _ClarifyError) as exc:
            await self.runtime.decisions.settle(decision, f"refused: {exc}")
            return Reply(str(exc)[:1].upper() + str(exc)[1:], intent, ok=False)
        await self.runtime.decisions.settle(decision, reply.text)
        return reply

    async def _act(
        self, intent: str, slots: dict[str, Any], targets: list[str], reason: str
    ) -> Reply:
        rt = self.runtime
        if intent in _CONTROLS:
            action = {
                "pause_saga": rt.pause_saga,
                "resume_saga": rt.resume_saga,
                "cancel_saga": rt.cancel_saga,
                "force_compensation": rt.force_compensation,
            }[intent]
            done, refused = [], []
            for saga_id in targets:
                try:
                    state = await action(saga_id, reason)
                    done.append((saga_id, state.status.value))
                except EngineError as exc:
                    refused.append((saga_id, str(exc)))
            if len(targets) == 1 and refused:
                raise _ClarifyError(refused[0][1][:1].upper() + refused[0][1][1:])
            if len(targets) == 1:
                return Reply(
                    f"Saga {done[0][0]} is now {done[0][1].replace('_', ' ')}.",
                    intent,
                    data={"saga": done[0][0], "status": done[0][1]},
                )
            text = f"Done for {plural(len(done), 'saga')}"
            text += f"; {len(refused)} refused." if refused else "."
            return Reply(
                text,
                intent,
                rows=[{"saga": s, "status": st} for s, st in done],
                data={"done": len(done), "refused": len(refused)},
            )
        if intent == "retry_step":
            state = await rt.retry_step(targets[0], slots.get("step"), reason)
            return Reply(f"Retrying saga {state.saga_id}; it is {state.status.value}.", intent)
        if intent == "approve_saga":
            state = await rt.approve_saga(targets[0], reason)
            return Reply(f"Saga {state.saga_id} approved; it continues.", intent)
        if intent == "pause_intake":
            kind = self._intake_type(slots)
            await rt.pause_intake(reason, saga_type=kind)
            if kind:
                return Reply(f"New {kind} sagas wait as pending; other types go on.", intent)
            return Reply("Intake paused: new sagas wait as pending.", intent)
        if intent == "resume_intake":
            kind = self._intake_type(slots)
            started = await rt.resume_intake(reason, saga_type=kind)
            text = (
                f"New {kind} sagas start again" if kind else "Intake open again"
            ) + f"; {plural(started, 'pending saga')} started."
            if rt.intake_paused:
                text += " Intake of every type is still paused."
            held = [t for t in rt.paused_saga_types if t != kind]
            if held and not kind:
                text += (
                    f" New {', '.join(held)} sagas stay paused: say "
                    f'"resume new {held[0].replace("_", " ")} sagas".'
                )
            return Reply(text, intent, data={"started": started, "paused_types": held})
        if intent == "restart_actor":
            path = _actor_path(rt, slots)
            await rt.restart_actor(path, reason or "Chairman")
            return Reply(f"Restarting actor {path}.", intent)
        if intent == "stop_actor":
            path = _actor_path(rt, slots)
            await rt.stop_actor(path)
            return Reply(f"Actor {path} stopped.", intent)
        if intent == "start_saga":
            kind = self._saga_type(str(slots.get("saga_type", "")))
            if kind is None:
                raise _ClarifyError(f"Start which saga type? {', '.join(rt.saga_types)}.")
            saga_id = await rt.start_saga(kind, str(slots.get("venture", "")))
            self.last_saga = saga_id
            return Reply(f"Started saga {saga_id}, {kind}.", intent, data={"saga": saga_id})
        raise _ClarifyError(f"I can't do {intent} yet.")

    # --- answering ----------------------------------------------------------

    async def _query(self, intent: str, slots: dict[str, Any]) -> Reply:
        rt = self.runtime
        since = slots.get("since_seconds")
        if intent == "list_sagas":
            status = slots.get("status")
            filters = self._saga_filters(slots)
            limit = slots.get("limit")
            sagas = await rt.query_sagas(**filters, limit=limit or _ROWS)
            total = len(sagas) if limit or len(sagas) < _ROWS else await rt.count_sagas(**filters)
            what = (
                "saga failures"
                if status == "failed"
                else f"{status.replace('_', ' ')} sagas"
                if status
                else "sagas"
            )
            if len(sagas) == 1:
                self.last_saga = sagas[0].saga_id
            text = describe_sagas(sagas, what, window_words(since))
            if total > len(sagas):
                text = f"{total} {what}{window_words(since)}; the latest {len(sagas)} are shown."
            shown = {k: v for k, v in slots.items() if k in SAGA_FILTERS}
            return Reply(
                text, intent, rows=saga_rows(sagas), data={"count": total, "filter": shown}
            )
        if intent == "describe_saga":
            saga_id = await self._saga(str(slots.get("saga", "@last")))
            state = await rt.get_saga(saga_id)
            self.last_saga = saga_id
            decisions = await rt.decisions.list(saga_id=saga_id, limit=5)
            text = describe_saga(state)
            if decisions:
                latest = decisions[0]
                text += (
                    f" The last of {plural(len(decisions), 'Chairman decision')} was "
                    f"{latest.decision_type}"
                    f"{': ' + latest.reasoning if latest.reasoning else ''}."
                )
            return Reply(
                text,
                intent,
                rows=step_rows(state),
                data={
                    "saga": saga_id,
                    "status": state.status.value,
                    "decisions": [d.decision_type for d in decisions],
                },
            )
        if intent == "list_actors":
            actors = [
                a
                for a in rt.actor_tree()
                if (not slots.get("status") or a.status.value == slots["status"])
                and (not slots.get("actor_type") or a.actor_type.value == slots["actor_type"])
            ]
            rows = [
                {
                    "actor": a.path,
                    "type": a.actor_type.value,
                    "status": a.status.value,
                    "processed": a.messages_processed,
                    "restarts": a.restarts,
                    "mailbox": a.mailbox_depth,
                }
                for a in actors
            ]
            return Reply(f"{plural(len(actors), 'actor')}.", intent, rows=rows)
        if intent == "list_dead_letters":
            letters = await rt.dead_letters(since_seconds=since)
            rows = [
                {
                    "kind": d.kind,
                    "saga": d.saga_id or "",
                    "actor": d.actor_path or "",
                    "reason": d.reason,
                }
                for d in letters
            ]
            return Reply(
                f"{plural(len(letters), 'dead letter')}{window_words(since)}.", intent, rows=rows
            )
        if intent == "show_metrics":
            return await self._metrics(slots)
        if intent == "check_consistency":
            # The grammar has no "and repair" slot: a spoken check only reads.
            report = await rt.check_consistency()
            sampled = (
                f" ({report.sagas_checked} of {report.sagas_total} sagas sampled)"
                if report.sagas_checked < report.sagas_total
                else ""
            )
            text = f"Consistency {report.score:.1%} over {plural(report.checked, 'item')} checked"
            text += sampled + ": "
            if report.clean:
                text += "nothing wrong"
            else:
                text += ", ".join(kind.noun(n) for kind, n in report.by_kind.items())
                repairable = sum(v.repairable for v in report.violations)
                if repairable:
                    text += f" ({repairable} can be repaired safely)"
            if ViolationKind.BROKEN_CHAIN not in report.by_kind:
                text += "; the journal is intact"
            text += "."
            rows = [
                {
                    "kind": v.kind.value,
                    "subject": v.subject,
                    "detail": v.detail,
                    "repairable": "yes" if v.repairable else "no",
                }
                for v in report.violations
            ]
            data = {
                "score": report.score,
                "checked": report.checked,
                "sagas_checked": report.sagas_checked,
                "sagas_total": report.sagas_total,
                "violations": {kind.value: n for kind, n in report.by_kind.items()},
            }
            return Reply(text, intent, rows=rows, data=data)
        if intent == "list_decisions":
            decisions = await rt.decisions.list(
                saga_id=slots.get("saga") if slots.get("saga") != "@last" else self.last_saga,
                since=rt.clock.now() - since if since else None,
                limit=50,
            )
            rows = [
                {
                    "type": d.decision_type,
                    "saga": d.saga_id or "",
                    "text": d.text,
                    "outcome": d.outcome,
                }
                for d in decisions
            ]
            return Reply(
                f"{plural(len(decisions), 'decision')}{window_words(since)}.", intent, rows=rows
            )
        if intent == "list_incidents":
            found = await rt.incidents(since_seconds=since, trigger=slots.get("trigger"), limit=100)
            # The latest step of each, from the incident journal the recursion loop keeps.
            journaled = await incident_steps(rt, [i.incident_id for i in found])
            rows = [
                {
                    "incident": i.incident_id[:8],
                    "trigger": i.trigger,
                    "status": i.status,
                    "attempts": i.attempts,
                    "summary": i.summary,
                    "latest": (
                        journaled[i.incident_id][-1].data.get("text", "")
                        if journaled.get(i.incident_id)
                        else ""
                    ),
                }
                for i in found
            ]
            which = f"{slots['trigger']} " if slots.get("trigger") else "recursion "
            if not found:
                return Reply(
                    f"No {which}incidents{window_words(since)}.", intent, data={"count": 0}
                )
            still_open = sum(1 for i in found if i.status not in ("closed", "escalated"))
            escalated = sum(1 for i in found if i.status == "escalated")
            kpis = await recursion_kpis(rt)
            text = (
                f"{plural(len(found), which + 'incident')}{window_words(since)}; "
                f"{still_open} open" + (f", {escalated} escalated." if escalated else ".")
            )
            if kpis["success_rate"] is not None:
                text += f" The loop healed {kpis['success_rate']:.0%} of those it finished"
                detect = kpis["mean_time_to_detect"]
                text += f", detecting in {detect:.0f} s on average." if detect else "."
            listed: dict[str, Any] = {"count": len(found), "kpis": kpis}
            stage = next((i for i in found if i.trigger == "SAGA-004"), None)
            if stage is not None:
                report = stage.details.get("evidence", {})
                listed["completion_report"] = report
                text += " " + completion_report_words(report)
            return Reply(text, intent, rows=rows, data=listed)
        rows = [{"intent": name, "say": example} for name, example in EXAMPLES.items()]
        return Reply(
            'Ask about sagas ("show saga failures in the last 24 hours"), act on them '
            '("pause saga 42"), or on intake, actors, metrics and incidents.',
            intent,
            rows=rows,
        )

    async def _metrics(self, slots: dict[str, Any]) -> Reply:
        since = slots.get("since_seconds") or 3600
        data = await Monitor(self.runtime).metrics(since)
        rate, ended = data["success_rate"], data.pop("ended")
        metric = slots.get("metric")
        if metric == "latency":
            p = slots.get("percentile") or 95
            text = f"p{p} saga latency is {data[f'p{p}_ms']:.0f} ms{window_words(since)}."
        elif metric == "throughput":
            text = f"{data['throughput_per_s']} sagas per second{window_words(since)}."
        else:
            text = (
                f"Success rate {rate:.1%}{window_words(since)} over "
                f"{plural(ended, 'finished saga')}."
            )
        return Reply(text, "show_metrics", rows=[data], data=data)


def _actor_path(runtime: Runtime, slots: dict[str, Any]) -> str:
    """The path of the actor named in `slots` (its name, and its venture when names
    repeat across ventures)."""
    name, venture = slots.get("actor"), slots.get("venture")
    if name is None:
        raise _ClarifyError("Which actor? Say its name, e.g. compliance-checker-2 of venture acme.")
    actors = runtime.actor_tree()
    matches = [a for a in actors if a.name == name and venture in (None, a.venture)]
    if len(matches) == 1:
        return matches[0].path
    if matches:
        ventures = ", ".join(sorted({a.venture or "none" for a in matches}))
        raise _ClarifyError(f"Which {name}? Say its venture too: {ventures}.")
    close = [n for n, _, _ in process.extract(str(name), [a.path for a in actors], limit=3)]
    hint = f"the closest are {', '.join(close)}." if close else "there are no actors."
    where = f" in venture {venture}" if venture else ""
    raise _ClarifyError(f"I know no actor called {name!r}{where}; {hint}")
