"""Push-to-talk in the dashboard: ctrl+space records, ctrl+space (or the end of the sound)
stops, the real tiny.en model hears EVA's own espeak-ng speech, the bar shows what it
heard, and the dashboard runs it against a real runtime as a heard command.

A `FileSource` stands in for the microphone; its clock is held still (or moved by
the test), so what the meter shows and when the sound ends never depend on timing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from eva import Assistant
from eva.voice import (
    FileSource,
    Hints,
    Listener,
    Microphone,
    NoMicrophoneError,
    Recording,
    Speaker,
    Speech,
    Transcript,
    VoiceInput,
    VoiceSession,
)
from eva.voice.audio import Samples
from runtime import Runtime, SagaStatus
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held
from tui.app import Dashboard
from tui.command_bar import CommandBar
from tui.confirm import ConfirmScreen
from tui.talk import HINT, NO_VOICE, TalkBar

SIZE = (120, 40)
SHOWN = re.compile(r"Heard: “(.+)” \((\d\.\d\d)\)")


class _Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def listener() -> Listener:
    listener = Listener()
    listener.load()
    return listener


def _said(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.wav"
    with Speaker() as speaker:
        speaker.save(text, path, rate=150)
    return path


def _quiet(tmp_path: Path) -> Path:
    """A second of digital silence."""
    path = tmp_path / "quiet.wav"
    Speech(np.zeros(16_000, dtype=np.int16), 16_000).write_wav(path)
    return path


def _dashboard(
    runtime: Runtime, listener: Listener, path: Path, clock: _Clock | None = None
) -> Dashboard:
    assistant = Assistant(runtime)
    source = FileSource(path, clock=clock or _Clock())
    return Dashboard(
        assistant, voice=VoiceInput(source, VoiceSession(assistant, listener=listener))
    )


def _text(app: Dashboard) -> str:
    return str(app.query_one(TalkBar).render())


def _notices(app: Dashboard) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _until(pilot: Pilot[None], done: Callable[[], bool]) -> None:
    """Let the dashboard work through its messages until `done()` (a bounded number of
    rounds: a test that waits for what never comes fails rather than hangs)."""
    for _ in range(2_000):
        if done():
            return
        await pilot.pause()
    raise AssertionError("the dashboard never got there")


async def _heard(app: Dashboard) -> None:
    """Until the recording has been heard (the model runs in the bar's worker)."""
    worker = app.query_one(TalkBar).hearing
    assert worker is not None
    await worker.wait()


async def test_ctrl_space_twice_shows_the_spoken_pause_it_heard_then_pauses_the_saga(
    runtime: Runtime, recorder: Recorder, listener: Listener, tmp_path: Path
) -> None:
    held, gate = await start_held(runtime, recorder)
    clock = _Clock()
    app = _dashboard(runtime, listener, _said(tmp_path, f"pause saga {held}"), clock)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(TalkBar)
        assert _text(app) == HINT
        await pilot.press("ctrl+space")
        assert _text(app).startswith("● REC  0.0 s ░")
        clock.now = 0.6  # mid-sentence
        await _until(pilot, lambda: bar.seconds == pytest.approx(0.6))
        assert _text(app).startswith("● REC  0.6 s █")
        assert bar.level > 0.01
        await pilot.press("ctrl+space")
        await _heard(app)
        shown = SHOWN.fullmatch(_text(app))
        assert shown is not None, _text(app)
        assert f"saga {held}" in shown[1].lower()

        await _until(pilot, lambda: app.last_reply is not None)
        assert _text(app) == shown[0]
        assert str(app.query_one("#reply", Static).render()) == f"Saga {held} is now paused."
        assert (await runtime.get_saga(held)).status is SagaStatus.PAUSED
        [decision] = await runtime.decisions.list()
        assert decision.transcript == shown[1]
        assert f"{decision.transcript_confidence:.2f}" == shown[2]
    gate.set()


class _Held(Listener):
    """The real listener, made to wait for the test before it hears."""

    def __init__(self, inner: Listener) -> None:
        super().__init__()
        self.inner = inner
        self.go = threading.Event()

    def load(self) -> None:
        self.inner.load()

    def transcribe(self, source: Path | Samples, hints: Hints | None = None) -> Transcript:
        assert self.go.wait(30), "the test never let the listener go"
        return self.inner.transcribe(source, hints)


async def test_while_the_model_hears_the_bar_says_so_and_the_dashboard_still_takes_keys(
    runtime: Runtime, listener: Listener, tmp_path: Path
) -> None:
    held = _Held(listener)
    assistant = Assistant(runtime)
    source = FileSource(_quiet(tmp_path), clock=_Clock())
    app = Dashboard(assistant, voice=VoiceInput(source, VoiceSession(assistant, listener=held)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+space", "ctrl+space")
        await pilot.press(*"help")
        assert _text(app) == "Hearing…"
        assert app.query_one(CommandBar).value == "help"
        await pilot.press("ctrl+space")
        assert _notices(app) == ["Still hearing the last command."]
        held.go.set()
        await _heard(app)
        assert _text(app) == "I heard nothing: no speech in that recording."


async def test_a_damaged_recording_is_explained_and_nothing_is_run(
    runtime: Runtime, recorder: Recorder, listener: Listener, tmp_path: Path
) -> None:
    held, gate = await start_held(runtime, recorder)
    damaged = tmp_path / "pause.wav"
    damaged.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 400)
    app = _dashboard(runtime, listener, damaged)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert _text(app) == "pause.wav is not audio, or is damaged."
        assert app.query_one(TalkBar).phase == "idle"
        assert app.last_reply is None
    assert (await runtime.get_saga(held)).status is SagaStatus.RUNNING
    assert await runtime.decisions.list() == []
    gate.set()


async def test_the_recording_stops_by_itself_when_the_sound_ends_and_silence_runs_nothing(
    runtime: Runtime, listener: Listener, tmp_path: Path
) -> None:
    clock = _Clock()
    app = _dashboard(runtime, listener, _quiet(tmp_path), clock)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(TalkBar)
        await pilot.press("ctrl+space")
        assert bar.phase == "recording"
        clock.now = 5.0  # the second of silence is long over: no second ctrl+space
        await _until(pilot, lambda: bar.hearing is not None)
        await _heard(app)
        await pilot.pause()
        assert _text(app) == "I heard nothing: no speech in that recording."
        assert app.last_reply is None
    assert await runtime.decisions.list() == []


async def test_without_voice_input_ctrl_space_gives_the_reason(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=SIZE) as pilot:
        assert _text(app) == NO_VOICE
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert _notices(app) == [NO_VOICE]
        assert _text(app) == NO_VOICE


class _Busy:
    """A microphone that is there but held by another program."""

    recording = ended = False
    level = seconds = 0.0
    REASON = "The microphone USB Audio cannot be opened: Device unavailable."

    def ready(self) -> None:
        pass

    def start(self, *, until_silence: bool = False) -> None:
        raise NoMicrophoneError(self.REASON)

    def stop(self) -> Recording:
        raise AssertionError("never started")


async def test_a_microphone_that_cannot_be_opened_is_one_notice_and_the_reason_stays(
    runtime: Runtime, listener: Listener
) -> None:
    assistant = Assistant(runtime)
    voice = VoiceInput(_Busy(), VoiceSession(assistant, listener=listener))
    app = Dashboard(assistant, voice=voice)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert _text(app) == _Busy.REASON
        assert _notices(app) == [_Busy.REASON]
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert _notices(app) == [_Busy.REASON, _Busy.REASON]
        assert app.query_one(TalkBar).phase == "idle"


async def test_on_a_machine_without_a_microphone_the_bar_says_why(runtime: Runtime) -> None:
    try:
        Microphone.check()
    except NoMicrophoneError as exc:
        reason = str(exc)
    else:
        pytest.skip("this machine has a microphone")
    assistant = Assistant(runtime)
    app = Dashboard(assistant, voice=VoiceInput(Microphone(), VoiceSession(assistant)))
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(TalkBar)
        await _until(pilot, lambda: bar.problem is not None)
        assert _text(app) == reason
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert _notices(app) == [reason]


async def test_a_spoken_yes_answers_the_read_back_of_a_spoken_cancel(
    runtime: Runtime, recorder: Recorder, listener: Listener, tmp_path: Path
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = _dashboard(runtime, listener, _said(tmp_path, f"cancel saga {held}"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+space", "ctrl+space")
        await _heard(app)
        await _until(pilot, lambda: app.last_reply is not None)
        assert isinstance(app.screen, ConfirmScreen), app.last_reply
        assert app.screen.question.startswith(f"Abort saga {held}")
        assert app.voice is not None
        source = app.voice.source
        assert isinstance(source, FileSource)
        source.path = _said(tmp_path, "yes")
        await pilot.press("ctrl+space", "ctrl+space")
        await _heard(app)
        await _until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
    gate.set()
    await runtime.wait_for([held])
    assert (await runtime.get_saga(held)).status is SagaStatus.CANCELLED
    [decision] = await runtime.decisions.list()
    assert decision.confirmation == "spoken yes"
