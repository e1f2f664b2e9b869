"""Hearing commands with the real tiny.en model: the round trip through EVA's own speech,
and a specific answer for every kind of bad audio."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from eva.voice import (
    Guess,
    Hints,
    Listener,
    Microphone,
    NoMicrophoneError,
    NothingHeardError,
    Speaker,
    Speech,
    TooLongError,
)
from eva.voice.nbest import choose
from intents import EXAMPLES
from tests.eva.voice.spoken import Clip, clips, slots_heard, synthesize

_RATE = 16_000


def _wav(path: Path, samples: np.ndarray, rate: int = _RATE) -> Path:
    Speech((np.clip(samples, -1, 1) * 32767).astype(np.int16), rate).write_wav(path)
    return path


def _listen(*files: Path, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "eva", "listen", "--json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert "Traceback" not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Clip, Path]]:
    return synthesize(tmp_path_factory.mktemp("spoken"))


@pytest.fixture(scope="module")
def command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ "pause saga 42" in EVA's voice, at 16 kHz."""
    path = tmp_path_factory.mktemp("command") / "pause.wav"
    with Speaker() as speaker:
        speaker.save("pause saga 42", path)
    return path


def test_the_corpus_speaks_every_intent_in_several_voices_rates_and_noise() -> None:
    corpus = clips()
    assert len(corpus) >= 40
    assert {c.intent for c in corpus} == set(EXAMPLES)
    assert len({c.voice for c in corpus}) >= 3
    assert len({c.rate for c in corpus}) >= 3
    assert sum(c.snr_db is not None for c in corpus) >= 10


@pytest.mark.timeout(300)  # 52 clips through the real model, on a shared 2-core machine
def test_eva_hears_its_own_speech_well_enough_to_act(spoken: list[tuple[Clip, Path]]) -> None:
    heard = _listen(*(path for _, path in spoken))
    assert len(heard) == len(spoken)
    intents_right = slots_right = slots_counted = 0
    misses = []
    for (clip, _), got in zip(spoken, heard, strict=True):
        assert isinstance(got["transcript"], str)
        right_intent = got["intent"] == clip.intent
        intents_right += right_intent
        slots = got["slots"] if right_intent else {}
        assert isinstance(slots, dict)
        right, counted = slots_heard(clip.slots, slots)
        slots_right += right
        slots_counted += counted
        if not right_intent or right < counted:
            misses.append((clip.text, got["transcript"], got["intent"], got["slots"]))
    report = "\n".join(map(str, misses))
    assert intents_right / len(spoken) >= 0.95, report
    assert slots_right / slots_counted >= 0.90, report


def test_bad_audio_gets_a_specific_answer(tmp_path: Path, command: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("pause saga 42\n" * 100)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(command.read_bytes()[:44] + bytes(range(256)) * 200)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(command.read_bytes()[:30])
    no_samples = _wav(tmp_path / "no-samples.wav", np.zeros(0))
    silent = _wav(tmp_path / "silent.wav", np.zeros(3 * _RATE))
    hiss = _wav(tmp_path / "hiss.wav", np.random.default_rng(1).normal(0, 0.05, 3 * _RATE))
    answers = _listen(
        empty, text, corrupt, truncated, no_samples, silent, hiss, tmp_path / "missing.wav"
    )
    assert answers == [
        {"error": "empty.wav is empty: that file is not audio."},
        {"error": "notes.wav is not audio, or is damaged."},
        {"error": "I heard nothing: no speech in that recording."},
        {"error": "truncated.wav is not audio, or is damaged."},
        {"error": "I heard nothing: no-samples.wav holds no sound."},
        {"error": "I heard nothing: no speech in that recording."},
        {"error": "I heard nothing: no speech in that recording."},
        {"error": f"There is no file {tmp_path / 'missing.wav'}."},
    ]


def test_a_ten_minute_recording_is_heard_for_its_one_command_or_refused(
    tmp_path: Path, command: Path
) -> None:
    with wave.open(str(command)) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        rate = w.getframerate()
    ten_minutes = np.zeros(600 * rate, dtype=np.float32)
    quiet = ten_minutes.copy()
    quiet[300 * rate : 300 * rate + speech.size] = speech
    talk = np.resize(np.concatenate([speech, np.zeros(rate // 2, np.float32)]), 600 * rate)
    one_command, meeting = _listen(
        _wav(tmp_path / "quiet.wav", quiet, rate), _wav(tmp_path / "talk.wav", talk, rate)
    )
    assert (one_command["intent"], one_command["slots"]) == ("pause_saga", {"saga": "42"})
    assert isinstance(meeting["error"], str)
    assert meeting["error"].startswith("I heard ")
    assert meeting["error"].endswith("say one command at a time (at most 30 seconds).")


def test_a_recording_longer_than_a_quarter_hour_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    path = _wav(tmp_path / "long.wav", np.zeros(16 * 60 * 8000), rate=8000)
    with pytest.raises(TooLongError, match=r"^long.wav is 16 minutes long; say one command"):
        Listener().transcribe(path)


def test_a_missing_model_is_one_clear_error(tmp_path: Path, command: Path) -> None:
    [answer] = _listen(command, env={"EVA_STT_MODEL": str(tmp_path / "no-model")})
    assert isinstance(answer["error"], str)
    assert answer["error"].startswith(f"Cannot load the speech model '{tmp_path / 'no-model'}'")


def test_the_model_loads_once_and_only_when_first_needed(command: Path) -> None:
    listener = Listener()
    assert not listener.loaded
    with pytest.raises(NothingHeardError):
        listener.transcribe(np.zeros(_RATE, dtype=np.float32))
    assert not listener.loaded  # silence is answered before the model is needed
    first = listener.transcribe(command)
    seconds = listener.load_seconds
    second = listener.transcribe(command)
    assert listener.load_seconds == seconds
    assert first == second
    assert (first.parsed.command.intent, first.parsed.command.slots()) == (
        "pause_saga",
        {"saga": "42"},
    )
    assert 0 < first.confidence <= 1


def test_live_names_are_hinted_but_no_numbers_are_prompted() -> None:
    hints = Hints(
        saga_types=("order_fulfillment",),
        saga_ids=("317",),
        actors=("compliance-checker-2",),
        ventures=("acme",),
    )
    assert hints.hotwords == "order fulfillment, compliance checker 2, venture acme, saga 317"
    assert not re.search(r"\b\d+\b", hints.prompt)
    assert {"fulfillment", "compliance", "acme", "saga", "dead", "letters"} <= hints.words


def test_the_command_language_chooses_among_whispers_guesses() -> None:
    hints = Hints(saga_types=("order_fulfillment", "venture_onboarding"))
    near_miss = [Guess("Portent saga 42.", -0.30), Guess("Pause saga 42.", -0.45)]
    chosen, parsed = choose(near_miss, hints)
    assert chosen.text == "Pause saga 42."
    assert parsed.command.intent == "pause_saga"
    made_up_type = [Guess("Pull all new sagas.", -0.45), Guess("Pause all new sagas.", -0.60)]
    assert choose(made_up_type, hints)[1].command.intent == "pause_intake"
    nonsense = [Guess("Pulls out your sanity statement.", -0.9)]
    assert choose(nonsense, hints)[1].command.intent == "unknown"


def test_listening_with_no_microphone_is_one_clear_line() -> None:
    try:
        Microphone.check()
    except NoMicrophoneError:
        pass
    else:
        pytest.skip("this machine has a microphone")
    done = subprocess.run(
        [sys.executable, "-m", "eva", "listen", "--mic", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    [answer] = [json.loads(line) for line in done.stdout.splitlines()]
    assert str(answer["error"]).startswith("No microphone")
    assert "Traceback" not in done.stderr


def test_eva_listen_act_carries_out_what_it_hears(tmp_path: Path) -> None:
    command = tmp_path / "help.wav"
    with Speaker() as speaker:
        speaker.save("what can you do", command, rate=150)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "eva", "listen", "--act", "--json"),
            *("--db", str(tmp_path / "e.db"), str(command), str(tmp_path / "missing.wav")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    helped, missing = [json.loads(line) for line in done.stdout.splitlines()]
    assert (helped["intent"], helped["ok"]) == ("help", True)
    assert helped["text"].startswith("Ask about sagas")
    assert (missing["intent"], missing["ok"], missing["transcript"]) == ("unheard", False, "")
    assert missing["text"] == f"There is no file {tmp_path / 'missing.wav'}."
    assert done.returncode == 1


def _encode(source: Path, target: Path, codec: str, rate: int) -> Path:
    """The command re-encoded by FFmpeg (through PyAV) at another rate."""
    import av
    from faster_whisper import decode_audio

    samples = (decode_audio(str(source), sampling_rate=rate) * 32767).astype(np.int16)
    with av.open(str(target), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return target


def test_flac_and_mp3_at_any_rate_are_heard_like_wav(tmp_path: Path, command: Path) -> None:
    flac = _encode(command, tmp_path / "pause.flac", "flac", 44_100)
    mp3 = _encode(command, tmp_path / "pause.mp3", "libmp3lame", 48_000)
    heard = _listen(command, flac, mp3)
    assert [(h["intent"], h["slots"]) for h in heard] == [("pause_saga", {"saga": "42"})] * 3
