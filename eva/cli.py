"""The `eva` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eva import runbook
from eva.assistant import Assistant
from eva.chaos import ChaosReport, ChaosSettings, run_chaos
from eva.llm import LLMUnavailableError
from eva.replies import Reply
from eva.workspace import database_url, open_assistant
from intents import evaluate, parse
from runtime import (
    DemoSummary,
    EngineError,
    Faults,
    MetricsExporter,
    MetricWindow,
    Runtime,
    Thresholds,
    install_demo,
    load_thresholds,
    measure,
    run_demo,
    window_data,
)


async def _demo(args: argparse.Namespace) -> DemoSummary:
    faults = Faults(
        failure_rate=args.failure_rate,
        timeout_rate=args.timeout_rate,
        compensation_failure_rate=args.failure_rate / 4,
        latency=args.latency,
    )
    progress = None
    if args.progress:

        def progress(saga_id: str) -> None:
            print(f"started {saga_id}", flush=True)

    async with Runtime(
        database_url(args.db), seed=args.seed, recover=False, saga_coordinators=True
    ) as runtime:
        await install_demo(runtime, faults, seed=args.seed, crash_rate=args.crash_rate)
        return await run_demo(
            runtime,
            sagas=args.sagas,
            seed=args.seed,
            auto_approve=not args.no_approve,
            on_started=progress,
        )


def _print_summary(summary: DemoSummary) -> None:
    s = summary
    print(
        f"started {s.started} sagas, recovered {s.recovered} in flight, "
        f"in {s.elapsed_seconds:.2f}s ({s.sagas_per_second:g} sagas/s)"
    )
    print(
        f"  completed {s.completed}  rolled back {s.rolled_back}  failed {s.failed}  "
        f"cancelled {s.cancelled}  still waiting {s.waiting}"
    )
    print(f"  dead letters {s.dead_letters}")
    print(f"  saga latency p50 {s.p50_ms:.1f} ms  p95 {s.p95_ms:.1f} ms  p99 {s.p99_ms:.1f} ms")
    print(f"  duplicate effects {s.duplicate_effects}  lost {s.lost}")


async def _metrics(args: argparse.Namespace) -> int:
    thresholds = load_thresholds()
    # Read-only: nothing in flight is resumed here and no housekeeping runs; the
    # process that runs the sagas owns them.
    async with Runtime(database_url(args.db), recover=False, maintenance_interval=None) as runtime:
        if args.serve is None:
            window = await measure(runtime, window=args.window or thresholds.success_window)
            if args.json:
                data = window_data(window)
                data["actor_restarts"] = None  # seen only where the actors run
                data["thresholds"] = thresholds.model_dump()
                print(json.dumps(data))
            else:
                _print_window(window, thresholds)
            return 0
        exporter = MetricsExporter(runtime, thresholds, restarts=False)
        await exporter.start(args.serve, host=args.host)
        try:
            host = f"[{args.host}]" if ":" in args.host else args.host
            print(f"serving metrics on http://{host}:{exporter.port}/metrics", flush=True)
            if args.duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(args.duration)
        finally:
            await exporter.close()
        return 0


def _print_window(w: MetricWindow, t: Thresholds) -> None:
    def ms(value: float) -> str:
        return f"{value:.1f} ms"

    print(f"window {w.seconds:g}s ({t.environment} thresholds)")
    ended = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(w.ended.items()))
    print(f"sagas ended {w.ended_total}" + (f": {ended}" if ended else ""))
    rate = "n/a (none ended)" if w.success_rate is None else f"{w.success_rate:.1%}"
    print(f"success rate {rate} (at least {t.success_rate_min:.1%})")
    print(f"sagas started {w.started}, throughput {w.throughput:.3g} sagas/s")
    print(
        f"consecutive compensations {w.consecutive_compensations} "
        f"(at most {t.consecutive_compensations_max})"
    )
    for saga_type, p in sorted(w.saga_latency.items()):
        print(
            f"saga latency {saga_type}: p50 {ms(p.p50)}  p95 {ms(p.p95)}  "
            f"p99 {ms(p.p99)}  ({p.count} sagas)"
        )
    print(
        f"step latency limits: p95 at most {ms(t.step_p95_max_ms)}, "
        f"p99 at most {ms(t.step_p99_max_ms)}"
    )
    for (saga_type, step), p in sorted(w.step_latency.items()):
        print(
            f"step latency {saga_type}.{step}: p50 {ms(p.p50)}  p95 {ms(p.p95)}  "
            f"p99 {ms(p.p99)}  ({p.count} steps)"
        )
    print(f"compensations {w.compensations}, dead-lettered {w.compensation_failures}")
    print(f"dead letters unresolved {w.dead_letters} ({w.dead_letters_before} at window start)")
    print("actor restarts not counted here: only the process running the actors sees them")
    print(f"escalations to the root {w.escalations_to_root}")
    score = "not checked" if w.consistency_score is None else f"{w.consistency_score:.2%}"
    print(f"consistency {score} (at least {t.consistency_min:.1%})")


def _print_chaos(r: ChaosReport) -> None:
    def seconds(value: float | None) -> str:
        return "n/a (no kills)" if value is None else f"{value:.2f}s"

    print(
        f"chaos for {r.elapsed_seconds:.1f}s: {r.kills} kills (SIGKILL), "
        f"{r.resumed} sagas resumed after them"
    )
    print(
        f"  sagas started {r.started}  completed {r.completed}  rolled back {r.rolled_back}  "
        f"failed {r.failed}  cancelled {r.cancelled}  still waiting {r.waiting}"
    )
    print(f"  steps executed twice {r.duplicate_effects}  sagas lost {r.lost}")
    print(
        f"  consistency {r.consistency_score:.2%} ({r.consistency_violations} violations)  "
        f"dead letters {r.dead_letters}"
    )
    print(
        f"  incidents opened {r.incidents_opened}  auto-remediated "
        f"{r.incidents_auto_remediated} ({r.incidents_healed} validated and closed)"
    )
    print(
        f"  time to recovery mean {seconds(r.mean_time_to_recovery_seconds)}  "
        f"max {seconds(r.max_time_to_recovery_seconds)}  "
        f"(to the first saga event: {seconds(r.mean_time_to_first_event_seconds)})"
    )


def _chaos_command(args: argparse.Namespace) -> int:
    problem = None
    if not args.duration > 0:
        problem = "--duration must be more than 0 seconds"
    elif not args.kill_every > 0:
        problem = "--kill-every must be more than 0 seconds"
    else:
        for name in ("failure_rate", "timeout_rate", "crash_rate"):
            if not 0 <= getattr(args, name) <= 1:
                problem = f"--{name.replace('_', '-')} must be between 0 and 1"
    if problem is not None:
        print(f"eva chaos: {problem}", file=sys.stderr)
        return 2
    settings = ChaosSettings(
        duration=args.duration,
        seed=args.seed,
        kill_every=args.kill_every,
        failure_rate=args.failure_rate,
        timeout_rate=args.timeout_rate,
        crash_rate=args.crash_rate,
    )
    try:
        report = run_chaos(args.db, settings)
    except EngineError as exc:
        print(f"eva chaos: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("eva chaos: interrupted; in-flight sagas resume on the next run", file=sys.stderr)
        return 130
    try:
        if args.json:
            print(json.dumps(report.as_dict()))
        else:
            _print_chaos(report)
    except BrokenPipeError:
        return 1
    return 0 if report.ok else 1


def _parse_command(args: argparse.Namespace) -> int:
    if args.eval:
        return _evaluate(Path(args.eval), args.json)
    if args.text is None:
        print("eva parse: give TEXT, - for standard input, or --eval FILE", file=sys.stderr)
        return 2
    lines = sys.stdin if args.text == "-" else [args.text]
    for line in lines:
        result = parse(line.rstrip("\n"))
        if args.json:
            print(json.dumps(result.as_json()), flush=True)
        else:
            slots = ", ".join(f"{k}={v!r}" for k, v in result.command.slots().items())
            print(f"{result.command.intent}({slots})  confidence {result.confidence:.2f}")
            if result.suggestions:
                print("  did you mean: " + " / ".join(result.suggestions))
    return 0


def _evaluate(path: Path, as_json: bool) -> int:
    try:
        cases = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        print(f"eva parse: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    result = evaluate(cases)
    if as_json:
        print(json.dumps(result.as_json()))
        return 0
    print(
        f"{result.total} sentences: intent accuracy {result.intent_accuracy:.1%}, "
        f"slot accuracy {result.slot_accuracy:.1%}"
    )
    for (expected, got), count in result.confusions.most_common(15):
        print(f"  {count:4d}  {expected} -> {got}")
    for text, want, found in result.misses[:40]:
        print(f"  MISS {text!r}\n       want {want}\n       got  {found}")
    return 0


async def _with_assistant(args: argparse.Namespace, work: Any) -> int:
    # No traffic and nothing in flight resumed here: the running dashboard or demo owns it.
    async with open_assistant(args.db, assume_yes=getattr(args, "yes", False)) as assistant:
        result: int = await work(assistant)
        return result


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {
        "intent": reply.intent,
        "text": reply.text,
        "ok": reply.ok,
        "rows": reply.rows,
        "data": reply.data,
    }


def _say(args: argparse.Namespace) -> int:
    async def work(assistant: Assistant) -> int:
        reply = await assistant.handle(args.text)
        if args.json:
            print(json.dumps(_reply_json(reply), default=str))
        else:
            print(reply.text)
            for row in reply.rows[:50]:
                print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
        if args.speak or args.wav:
            _speak(reply.text, args)
        return 0 if reply.ok else 1

    return asyncio.run(_with_assistant(args, work))


def _speak(text: str, args: argparse.Namespace) -> None:
    """Say the reply aloud and/or into a WAV file; a missing engine or sound card is one
    line on standard error, and the reply stands."""
    from eva.voice import Speaker, VoiceError

    try:
        with Speaker.from_env(voice=args.voice, rate=args.rate) as speaker:
            if speaker.unavailable_reason is not None:
                print(f"eva say: {speaker.unavailable_reason}", file=sys.stderr)
                return
            if args.wav:
                speaker.save(text, Path(args.wav))
            if args.speak:
                speaker.say(text)
                speaker.wait_idle()
                if speaker.playback_problem is not None:
                    print(f"eva say: {speaker.playback_problem}", file=sys.stderr)
    except (VoiceError, ValueError, OSError) as exc:
        print(f"eva say: {exc}", file=sys.stderr)


def _act_on_speech(args: argparse.Namespace) -> Any:
    """`eva listen --act`: each command heard is carried out and answered (and spoken)."""

    async def work(assistant: Assistant) -> int:
        from eva.voice import Speaker, VoiceError
        from eva.voice.commands import record_command
        from eva.voice.session import VoiceSession

        failed = False
        with contextlib.ExitStack() as stack:
            speaker = stack.enter_context(Speaker.from_env()) if args.speak else None
            session = VoiceSession(assistant, speaker=speaker)
            for name in args.files or [None]:
                try:
                    source = (
                        Path(name) if name is not None else await asyncio.to_thread(record_command)
                    )
                except VoiceError as exc:
                    print(f"eva listen: {exc}", file=sys.stderr)
                    return 1
                exchange = await session.hear(source)
                heard = exchange.transcript.text if exchange.transcript else ""
                failed |= not exchange.reply.ok
                if args.json:
                    reply = _reply_json(exchange.reply)
                    print(json.dumps({"transcript": heard, **reply}, default=str), flush=True)
                else:
                    print(f"heard {heard!r}\n{exchange.reply.text}", flush=True)
            if speaker is not None:
                speaker.wait_idle()
        return 1 if failed else 0

    return work


def _run(args: argparse.Namespace) -> int:
    try:
        steps = runbook.load(Path(args.file))
    except runbook.RunbookError as exc:
        print(f"eva run: {exc}", file=sys.stderr)
        return 2

    async def work(assistant: Assistant) -> int:
        failed = await runbook.run(steps, assistant, dry_run=args.dry_run)
        return 1 if failed else 0

    return asyncio.run(_with_assistant(args, work))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eva", description="EVA: operate sagas and actors.")
    commands = parser.add_subparsers(dest="command", required=True)
    say = commands.add_parser("say", help="run one command against the runtime and print the reply")
    say.add_argument("text", help='the command, e.g. "show saga failures in the last hour"')
    say.add_argument("--db", help="database file or URL")
    say.add_argument("--json", action="store_true", help="the reply's data as JSON")
    say.add_argument("--speak", action="store_true", help="also say the reply aloud")
    say.add_argument("--wav", metavar="FILE", help="also write the spoken reply to a WAV file")
    say.add_argument("--voice", help="espeak-ng voice, e.g. en-us or en-us+f2 (EVA_TTS_VOICE)")
    say.add_argument("--rate", type=int, help="words a minute, 80-450 (EVA_TTS_RATE)")
    run_cmd = commands.add_parser("run", help="run a runbook: commands and expectations")
    run_cmd.add_argument("file", help="the runbook (see data/runbooks/)")
    run_cmd.add_argument("--db", help="database file or URL")
    run_cmd.add_argument(
        "--yes", action="store_true", help="execute destructive steps without asking"
    )
    run_cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="parse every step and say what it would do; change nothing",
    )
    parse_cmd = commands.add_parser(
        "parse",
        help="parse a command into its intent and slots (no database)",
        description="Parse TEXT (or each line of standard input with '-') into the intent "
        "and slots of the command language; --eval scores a JSONL corpus.",
    )
    parse_cmd.add_argument("text", nargs="?", help="the command, or - to read lines")
    parse_cmd.add_argument("--json", action="store_true", help="one JSON object per command")
    parse_cmd.add_argument(
        "--eval", metavar="FILE", help="a JSONL corpus (text, intent, slots) to score"
    )
    listen = commands.add_parser(
        "listen",
        help="hear commands in audio files or from the microphone (no database)",
        description="Transcribe each FILE (WAV, FLAC, MP3, any rate) with faster-whisper, "
        "or one command from the microphone with --mic, and print what it means as "
        "`eva parse` does, with the transcript. EVA_STT_MODEL and EVA_STT_DEVICE choose "
        "another model or device.",
    )
    listen.add_argument("files", nargs="*", metavar="FILE", help="audio files, one command each")
    listen.add_argument("--mic", action="store_true", help="record one command")
    listen.add_argument("--json", action="store_true", help="one JSON object per command")
    listen.add_argument(
        "--act", action="store_true", help="carry out what is heard against the runtime"
    )
    listen.add_argument("--db", help="with --act: database file or URL")
    listen.add_argument("--speak", action="store_true", help="with --act: say the replies aloud")
    demo = commands.add_parser(
        "demo",
        help="run the demo workload headless and print a summary",
        description="Open the runtime (resuming what was in flight), run N new demo sagas, "
        "wait until every saga is terminal, and print a summary.",
    )
    demo.add_argument(
        "--db", help="database file or URL (default: EVA_DATABASE_URL or data/eva.db)"
    )
    demo.add_argument("--sagas", type=int, default=100, help="new sagas to run (0: only recover)")
    demo.add_argument(
        "--failure-rate",
        type=float,
        default=0.1,
        help="chance that a participant's action fails (0..1)",
    )
    demo.add_argument(
        "--timeout-rate",
        type=float,
        default=0.0,
        help="chance that an action hangs past its timeout (0..1)",
    )
    demo.add_argument(
        "--crash-rate",
        type=float,
        default=0.0,
        help="chance that an actor crashes on a message (0..1); its supervisor restarts it",
    )
    demo.add_argument(
        "--latency", type=float, default=0.002, help="mean seconds a participant takes per action"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--no-approve",
        action="store_true",
        help="leave sagas waiting for approval instead of approving them",
    )
    demo.add_argument(
        "--progress",
        action="store_true",
        help="print 'started ID' as each saga's start is committed",
    )
    demo.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    metrics = commands.add_parser(
        "metrics",
        help="print the runtime's current figures, or serve them to Prometheus",
        description="Measure success rate, latencies, compensations, dead letters and "
        "restarts over a window ending now and print them; with --serve PORT, serve them "
        "at http://HOST:PORT/metrics until interrupted. Thresholds come from EVA_ENV "
        "(dev or prod) and EVA_THRESHOLD_<NAME> variables.",
    )
    metrics.add_argument("--db", help="database file or URL")
    metrics.add_argument(
        "--window", type=float, help="seconds to measure over (default: the success window)"
    )
    metrics.add_argument("--json", action="store_true", help="the figures as one JSON object")
    metrics.add_argument(
        "--serve", type=int, metavar="PORT", help="serve Prometheus metrics on this port"
    )
    metrics.add_argument(
        "--host", default="127.0.0.1", help="with --serve: the address to listen on"
    )
    metrics.add_argument(
        "--duration", type=float, metavar="S", help="with --serve: stop after S seconds"
    )
    chaos = commands.add_parser(
        "chaos",
        help="run the demo workload under faults, crashes and SIGKILLs, then check it",
        description="Run the demo workload in a child process with participant failures, "
        "timeouts and actor crashes, SIGKILL it at random (seeded) moments and restart it "
        "on the same database, for S seconds; then let every saga settle and report. "
        "Exits 1 if any step was executed twice or any saga was lost.",
    )
    chaos.add_argument(
        "--duration",
        type=float,
        required=True,
        metavar="S",
        help="seconds of chaos (settling comes after)",
    )
    chaos.add_argument("--seed", type=int, default=0)
    chaos.add_argument("--db", help="database file or URL")
    chaos.add_argument(
        "--kill-every",
        type=float,
        default=10.0,
        metavar="S",
        help="mean seconds between a restart's recovery and the next kill",
    )
    chaos.add_argument(
        "--failure-rate", type=float, default=0.1, help="chance an action fails (0..1)"
    )
    chaos.add_argument(
        "--timeout-rate", type=float, default=0.005, help="chance an action hangs (0..1)"
    )
    chaos.add_argument(
        "--crash-rate", type=float, default=0.02, help="chance an actor crashes (0..1)"
    )
    chaos.add_argument("--json", action="store_true", help="print the report as one JSON line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("say", "run"):
        try:
            return _say(args) if args.command == "say" else _run(args)
        except (EngineError, LLMUnavailableError) as exc:
            print(f"eva {args.command}: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            return 1  # the reader went away
    if args.command == "listen":
        if bool(args.files) == bool(args.mic):
            print("eva listen: give audio FILEs or --mic", file=sys.stderr)
            return 2
        from eva.voice.commands import listen

        try:
            if args.act:
                return asyncio.run(_with_assistant(args, _act_on_speech(args)))
            return listen(args.files, mic=args.mic, as_json=args.json)
        except BrokenPipeError:
            return 1
    if args.command == "parse":
        try:
            return _parse_command(args)
        except BrokenPipeError:
            return 1
    if args.command == "demo":
        for name in ("failure_rate", "timeout_rate", "crash_rate"):
            if not 0 <= getattr(args, name) <= 1:
                print(
                    f"eva demo: --{name.replace('_', '-')} must be between 0 and 1", file=sys.stderr
                )
                return 2
        if args.sagas < 0:
            print("eva demo: --sagas must be 0 or more", file=sys.stderr)
            return 2
        try:
            summary = asyncio.run(_demo(args))
        except EngineError as exc:
            print(f"eva demo: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            return 1  # the reader went away (`eva demo --progress | head`)
        except KeyboardInterrupt:
            print("eva demo: interrupted; in-flight sagas resume on the next run", file=sys.stderr)
            return 130
        if args.json:
            print(json.dumps(summary.as_dict()))
        else:
            _print_summary(summary)
        return 0
    if args.command == "metrics":
        return _metrics_command(args)
    if args.command == "chaos":
        return _chaos_command(args)
    return 2


def _metrics_command(args: argparse.Namespace) -> int:
    problem = None
    if args.window is not None and not args.window > 0:
        problem = "--window must be more than 0 seconds"
    elif args.serve is not None and not 0 <= args.serve <= 65535:
        problem = "--serve PORT must be between 0 and 65535"
    elif args.duration is not None and not args.duration > 0:
        problem = "--duration must be more than 0 seconds"
    elif args.serve is None and args.duration is not None:
        problem = "--duration applies to --serve only"
    elif args.serve is not None and args.window is not None:
        problem = "--window does not apply to --serve (it uses the thresholds' windows)"
    if problem is not None:
        print(f"eva metrics: {problem}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_metrics(args))
    except EngineError as exc:
        print(f"eva metrics: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 0  # the way to stop serving


if __name__ == "__main__":
    sys.exit(main())
