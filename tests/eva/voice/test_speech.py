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


class _Broken:
    """An output whose driver fails in a way nobody wrapped."""

    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        raise RuntimeError("device exploded")


def _pitch(speech: Speech) -> float:
    """The median fundamental frequency (Hz) of the loud frames, by autocorrelation."""
    samples = speech.samples.astype(np.float64)
    frame = 1024
    shortest, longest = speech.sample_rate // 400, speech.sample_rate // 60
    found = []
    for start in range(0, samples.size - frame, frame):
        window = samples[start : start + frame]
        if np.abs(window).max() < 3000:
            continue
        window = window - window.mean()
        lags = np.correlate(window, window, "full")[frame - 1 :]
        found.append(speech.sample_rate / (shortest + int(np.argmax(lags[shortest:longest]))))
    return float(np.median(found))


def _speaker_threads() -> int:
    return sum(t.name == "eva-speaker" for t in threading.enumerate())


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
    # espeak-ng's samples differ slightly from run to run even for one voice, so "not
    # equal" proves nothing: the f2 variant is a woman's voice, about an octave higher.
    assert _pitch(other) > 1.5 * _pitch(short)
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


def test_voices_are_matched_case_blind_and_an_unknown_variant_is_refused_not_dropped() -> None:
    # espeak-ng itself would speak "en-us+f9" as plain en-us without a word.
    before = _speaker_threads()
    with pytest.raises(ValueError, match=r"^No voice variant 'f9'; try f\d"):
        Speaker(voice="en-us+f9")
    assert _speaker_threads() == before  # the refused speaker left no worker behind
    with Speaker(voice="gmw/en-US") as speaker:
        assert speaker.check_voice("en-us+F2") == "en-us+f2"
        with pytest.raises(ValueError, match=r"^No voice 'gmw/en-usa'; try gmw/en-us, "):
            speaker.synthesize("help", voice="gmw/en-usa")
        assert speaker.synthesize("help").seconds > 0.3


def test_a_failing_output_or_listener_never_stops_the_speaker() -> None:
    log = _Log()
    with Speaker(output=_Broken(), on_event=log) as speaker:
        speaker.say("first")
        assert speaker.wait_idle(10)
        speaker.say("second")
        assert speaker.wait_idle(10)
        assert speaker.synthesize("still speaks").seconds > 0.3
        problem = speaker.playback_problem
    assert (
        problem == "Speech failed (RuntimeError: device exploded); replies are shown, not spoken."
    )
    assert log.events == [
        ("first", "started"),
        ("first", "failed"),
        ("second", "started"),
        ("second", "failed"),
    ]

    def broken_listener(text: str, event: Event) -> None:
        raise RuntimeError("listener bug")

    output = _Paced()
    output.finish.set()
    with Speaker(output=output, on_event=broken_listener) as speaker:
        speaker.say("first")
        assert speaker.wait_idle(10)
        speaker.say("second")
        assert speaker.wait_idle(10)
    assert len(output.played) == 2


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


_PLAY = """
import json
from eva.voice import Speaker
events = []
with Speaker(on_event=lambda text, event: events.append(event)) as speaker:
    speaker.say("pause saga 42")
    idle = speaker.wait_idle(30)
    print(json.dumps([idle, events, speaker.playback_problem]))
"""


def test_with_a_sound_card_the_default_output_plays_the_reply_to_the_end(tmp_path: Path) -> None:
    # ALSA's null device is a real PortAudio output (it just does not keep time);
    # PortAudio lists devices when it starts, so this runs in its own process.
    config = tmp_path / "alsa.conf"
    config.write_text(
        "</usr/share/alsa/alsa.conf>\npcm.!default { type null }\nctl.!default { type hw card 0 }\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", _PLAY],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ALSA_CONFIG_PATH": str(config)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[true, ["started", "finished"], null]'


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
