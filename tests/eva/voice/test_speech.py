"""EVA's voice: real espeak-ng speech through pyttsx3, spoken from a worker that never
blocks, where a new reply cuts off the old one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from eva.voice import Speaker, Speech
from eva.voice.speech import Event


class _Paced:
    """An output that plays until the test lets it finish: "still speaking" is a state the
    test holds, not a race against the length of the audio."""

    def __init__(self) -> None:
        self.finish = threading.Event()
        self.playing = threading.Event()
        self.played: list[Speech] = []

    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        self.played.append(speech)
        self.playing.set()
        # A sound card plays block by block and notices an interruption between blocks.
        while not self.finish.is_set():
            if interrupted.wait(0.005):
                return False
        return True


class _Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []
        self.changed = threading.Condition()

    def __call__(self, text: str, event: Event) -> None:
        with self.changed:
            self.events.append((text, event))
            self.changed.notify_all()

    def wait_for(self, entry: tuple[str, Event]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: entry in self.events, timeout=10)


def test_speech_is_saved_as_a_wav_whose_length_follows_text_and_rate(tmp_path: Path) -> None:
    with Speaker() as speaker:
        short = speaker.save("pause saga 42", tmp_path / "short.wav")
        long = speaker.save(
            "force compensation on saga 42 because the supplier cancelled", tmp_path / "long.wav"
        )
        slow = speaker.synthesize("pause saga 42", rate=120)
        fast = speaker.synthesize("pause saga 42", rate=300)
        other = speaker.synthesize("pause saga 42", voice="en-us+f2")
    with wave.open(str(tmp_path / "short.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        assert w.getnframes() == short.samples.size
    assert 0.7 < short.seconds < 3.0
    assert long.seconds > 2 * short.seconds
    assert slow.seconds > 1.8 * fast.seconds
    assert not np.array_equal(
        other.samples[: short.samples.size], short.samples[: other.samples.size]
    )
    assert np.abs(short.samples).max() > 3000  # speech, not silence


def test_saving_prints_nothing_on_stdout(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with Speaker() as speaker:
        speaker.save("show dead letters", tmp_path / "x.wav")
    assert capfd.readouterr().out == ""


def test_say_returns_at_once_and_a_new_reply_cuts_off_the_old_one() -> None:
    output, log = _Paced(), _Log()
    with Speaker(output=output, on_event=log) as speaker:
        speaker.say("saga 42 is now paused and will stay paused until you resume it")
        assert output.playing.wait(10)  # say() returned while the reply is mid-air
        assert (
            "saga 42 is now paused and will stay paused until you resume it",
            "finished",
        ) not in log.events
        speaker.say("done")
        log.wait_for(
            ("saga 42 is now paused and will stay paused until you resume it", "interrupted")
        )
        output.finish.set()
        assert speaker.wait_idle(10)
    assert log.events == [
        ("saga 42 is now paused and will stay paused until you resume it", "started"),
        ("saga 42 is now paused and will stay paused until you resume it", "interrupted"),
        ("done", "started"),
        ("done", "finished"),
    ]


def test_stop_and_mute_silence_it() -> None:
    output, log = _Paced(), _Log()
    with Speaker(output=output, on_event=log) as speaker:
        speaker.say("listing 200 sagas")
        assert output.playing.wait(10)
        speaker.stop()
        log.wait_for(("listing 200 sagas", "interrupted"))
        speaker.mute()
        speaker.say("nobody hears this")
        assert speaker.wait_idle(10)
        speaker.unmute()
    assert [text for text, _ in log.events] == ["listing 200 sagas", "listing 200 sagas"]
    assert len(output.played) == 1


def test_unknown_voices_and_rates_are_refused_clearly() -> None:
    with Speaker() as speaker:
        with pytest.raises(ValueError, match=r"^No voice 'en-xx'; try en"):
            speaker.synthesize("help", voice="en-xx")
        with pytest.raises(ValueError, match="80 to 450 words a minute"):
            speaker.synthesize("help", rate=1000)
        assert "gmw/en-us" in {v.id for v in speaker.voices()}


def test_with_no_sound_card_speech_still_synthesises_and_the_problem_is_said_once(
    tmp_path: Path,
) -> None:
    # This machine has PortAudio but no audio device: the real situation.
    log = _Log()
    with Speaker(on_event=log) as speaker:
        speaker.say("first")
        speaker.say("second")
        assert speaker.wait_idle(10)
        assert speaker.playback_problem == "No audio output device; replies are shown, not spoken."
        assert speaker.save("still works", tmp_path / "x.wav").seconds > 0.3
    assert ("second", "failed") in log.events


_NO_ESPEAK = """
import json
from eva.voice import Speaker, NoSpeechEngineError
speaker = Speaker()
speaker.say("nobody hears this")
try:
    speaker.synthesize("x")
    raised = None
except NoSpeechEngineError as exc:
    raised = str(exc)
print(json.dumps([speaker.available, speaker.unavailable_reason, raised]))
speaker.close()
"""


def test_without_espeak_ng_eva_says_so_once_and_goes_on(tmp_path: Path) -> None:
    # pyttsx3 finds libespeak-ng through ctypes' loader; an empty library of that
    # name first on the path is what a machine without espeak-ng looks like to it.
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libespeak-ng.so.1").write_bytes(b"")
    (broken / "libespeak.so.1").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-c", _NO_ESPEAK],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LD_LIBRARY_PATH": str(broken)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reason = (
        "No speech engine: install espeak-ng (apt-get install espeak-ng); "
        "replies are shown, not spoken."
    )
    assert done.stdout.strip() == f'[false, "{reason}", "{reason}"]'


def test_eva_say_speaks_the_reply_into_a_wav_and_says_once_there_is_no_sound_card(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eva",
            "say",
            "help",
            "--db",
            str(tmp_path / "eva.db"),
            "--speak",
            "--wav",
            str(tmp_path / "reply.wav"),
            "--rate",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Ask about sagas")
    assert done.stderr == "eva say: No audio output device; replies are shown, not spoken.\n"
    with wave.open(str(tmp_path / "reply.wav")) as w:
        assert w.getnframes() / w.getframerate() > 3.0


def test_two_speakers_at_once_each_get_their_own_speech() -> None:
    texts = ["help", "force compensation on saga 42 because the supplier cancelled"]
    with Speaker() as a, Speaker() as b:
        alone = [a.synthesize(t).seconds for t in texts]
        results: list[float] = [0.0, 0.0]

        def speak(i: int, speaker: Speaker) -> None:
            for _ in range(5):
                results[i] = speaker.synthesize(texts[i]).seconds

        threads = [threading.Thread(target=speak, args=(i, s)) for i, s in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == pytest.approx(alone, rel=0.05)
