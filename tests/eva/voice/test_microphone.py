"""Recording one command: when speech ends (pure), and the real path through PortAudio.

The device tests run in a subprocess because PortAudio lists devices once,
when sounddevice is imported. The "microphone" there is ALSA's file plugin
reading real espeak-ng speech from a raw file; it does not pace in real time,
so seconds of sound arrive in milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import json
import math
import os
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eva.voice.endpoint import Endpointer
from eva.voice.microphone import _resample

Samples = npt.NDArray[np.float32]

ROOT = Path(__file__).resolve().parents[3]
RATE = 16_000
BLOCK = 1_600
"""0.1 s, about what PortAudio hands over at a time."""
TRAILING = 0.8


def _say(text: str) -> Samples:
    """espeak-ng's voice saying `text`, at 16 kHz, cut to where the sound is."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    voice = pcm.astype(np.float32) / 32768
    count = round(voice.size * RATE / rate)
    resampled = np.interp(np.arange(count) * rate / RATE, np.arange(voice.size), voice)
    audible = np.flatnonzero(np.abs(resampled) > 1e-3)
    spoken: Samples = resampled[audible[0] : audible[-1] + 1].astype(np.float32)
    return spoken


def _silence(seconds: float) -> Samples:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def _noise(seconds: float, level_db: float, seed: int = 7) -> Samples:
    rms = 10 ** (level_db / 20)
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, rms, round(seconds * RATE)).astype(np.float32)


def _level_db(samples: Samples) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))


@dataclass
class Fed:
    """What an endpointer said when fed a signal block by block."""

    done_after: float | None
    """Seconds fed when `feed` first answered done."""
    started_after: float | None
    """Seconds fed when `speech_started` first became true."""
    endpointer: Endpointer


def _feed(signal: Samples, endpointer: Endpointer | None = None, block: int = BLOCK) -> Fed:
    endpointer = endpointer or Endpointer(RATE, trailing_silence=TRAILING)
    started_after = None
    for start in range(0, signal.size, block):
        done = endpointer.feed(signal[start : start + block])
        fed = min(start + block, signal.size) / RATE
        if endpointer.speech_started and started_after is None:
            started_after = fed
        if done:
            return Fed(fed, started_after, endpointer)
    return Fed(None, started_after, endpointer)


@pytest.fixture(scope="module")
def command() -> Samples:
    return _say("pause saga 42")


# --- when speech ends -------------------------------------------------------------------


def test_speech_is_done_within_trailing_silence_of_its_end_and_not_before(
    command: Samples,
) -> None:
    speech_end = 1.0 + command.size / RATE
    fed = _feed(np.concatenate((_silence(1.0), command, _silence(2.0))))

    assert fed.endpointer.stopped_by == "silence"
    assert fed.started_after is not None
    assert 1.0 < fed.started_after < speech_end
    assert fed.done_after is not None
    assert speech_end + TRAILING <= fed.done_after <= speech_end + TRAILING + BLOCK / RATE
    stop = fed.endpointer.stop_sample
    assert stop is not None
    assert stop / RATE == pytest.approx(speech_end + TRAILING, abs=0.05)


@pytest.mark.parametrize(
    "quiet",
    [_silence(10.0), _noise(10.0, -40.0)],
    ids=["digital silence", "steady noise at -40 dBFS"],
)
def test_silence_before_anyone_speaks_never_ends_the_recording(quiet: Samples) -> None:
    fed = _feed(quiet)

    assert fed.done_after is None
    assert not fed.endpointer.speech_started


def test_a_pause_mid_sentence_shorter_than_trailing_silence_does_not_end_it() -> None:
    first, second = _say("pause saga"), _say("42")
    pause = 0.5
    signal = np.concatenate((_silence(1.0), first, _silence(pause), second, _silence(2.0)))
    first_end = 1.0 + first.size / RATE
    second_end = first_end + pause + second.size / RATE

    fed = _feed(signal)

    assert fed.started_after is not None
    assert fed.started_after < first_end
    assert fed.endpointer.stop_sample is not None
    assert fed.endpointer.stop_sample / RATE == pytest.approx(second_end + TRAILING, abs=0.05)


@pytest.mark.parametrize("level_db", [-50.0, -40.0, -34.0])
def test_moderate_background_noise_is_not_speech_but_speech_over_it_is(
    command: Samples, level_db: float
) -> None:
    noise_only = _feed(_noise(5.0, level_db))
    assert not noise_only.endpointer.speech_started
    assert noise_only.done_after is None

    speech_end = 1.0 + command.size / RATE
    clean = np.concatenate((_silence(1.0), command, _silence(2.0)))
    fed = _feed(clean + _noise(clean.size / RATE, level_db))

    assert fed.endpointer.stopped_by == "silence"
    assert fed.endpointer.stop_sample is not None
    # Noise can mask the quietest tail of the last syllable, never add to it.
    assert fed.endpointer.stop_sample / RATE == pytest.approx(speech_end + TRAILING, abs=0.1)


def test_the_length_limit_ends_a_recording_with_no_speech_at_exactly_max_seconds() -> None:
    endpointer = Endpointer(RATE, trailing_silence=TRAILING, max_seconds=2.0)
    fed = _feed(_noise(5.0, -45.0), endpointer, block=1_000)

    assert fed.endpointer.stopped_by == "limit"
    assert fed.endpointer.stop_sample == 2 * RATE
    assert fed.done_after == 2.0


def test_without_trailing_silence_only_the_limit_ends_it(command: Samples) -> None:
    endpointer = Endpointer(RATE, trailing_silence=math.inf, max_seconds=6.0)
    fed = _feed(np.concatenate((command, _silence(5.0))), endpointer)

    assert fed.endpointer.speech_started
    assert fed.endpointer.stopped_by == "limit"


@st.composite
def _signals(draw: st.DrawFn) -> tuple[int, Samples, list[int]]:
    """A sample rate, a signal of silences, tones and noise at any level, and block sizes."""
    rate = draw(st.sampled_from([8_000, 16_000, 44_100]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pieces: list[Samples] = []
    for kind, level_db, seconds in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["silence", "tone", "noise"]),
                st.floats(-80.0, 0.0),
                st.floats(0.0, 0.6),
            ),
            max_size=8,
        )
    ):
        count = round(seconds * rate)
        amplitude = 10 ** (level_db / 20)
        if kind == "silence":
            pieces.append(np.zeros(count, dtype=np.float32))
        elif kind == "tone":
            t = np.arange(count) / rate
            pieces.append((amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
        else:
            pieces.append(rng.normal(0.0, amplitude, count).astype(np.float32))
    signal = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    blocks = draw(st.lists(st.integers(1, 4_000), min_size=1, max_size=30))
    return rate, signal, blocks


def _in_blocks(signal: Samples, sizes: list[int]) -> list[Samples]:
    blocks: list[Samples] = []
    start = 0
    while start < signal.size:
        size = sizes[len(blocks) % len(sizes)]
        blocks.append(signal[start : start + size])
        start += size
    return blocks


@settings(max_examples=60, deadline=None)
@given(_signals())
def test_never_done_before_speech_except_at_the_limit_and_done_stays_done(
    drawn: tuple[int, Samples, list[int]],
) -> None:
    rate, signal, sizes = drawn
    limit = 2.0
    endpointer = Endpointer(rate, trailing_silence=0.2, max_seconds=limit)
    decided: tuple[str | None, int | None] | None = None
    fed = 0
    for block in _in_blocks(signal, sizes):
        done = endpointer.feed(block)
        fed += block.size
        if decided is not None:
            assert done
            assert (endpointer.stopped_by, endpointer.stop_sample) == decided
        elif done:
            decided = (endpointer.stopped_by, endpointer.stop_sample)
            assert endpointer.stop_sample is not None
            assert endpointer.stop_sample <= fed
            if endpointer.stopped_by == "silence":
                assert endpointer.speech_started
            else:
                assert endpointer.stop_sample == round(limit * rate)
        else:
            assert fed < round(limit * rate)


@settings(max_examples=60, deadline=None)
@given(_signals())
def test_the_decision_does_not_depend_on_how_the_sound_is_cut_into_blocks(
    drawn: tuple[int, Samples, list[int]],
) -> None:
    rate, signal, sizes = drawn

    def decision(blocks: list[Samples]) -> tuple[bool, str | None, int | None]:
        endpointer = Endpointer(rate, trailing_silence=0.2, max_seconds=2.0)
        for block in blocks:
            if endpointer.feed(block):
                break
        return endpointer.speech_started, endpointer.stopped_by, endpointer.stop_sample

    assert decision(_in_blocks(signal, sizes)) == decision([signal])


def test_sound_resampled_from_a_48khz_only_device_keeps_its_pitch_and_level() -> None:
    t = np.arange(48_000) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    hiss = (0.5 * np.sin(2 * np.pi * 15_000 * t)).astype(np.float32)

    resampled = _resample(tone + hiss, 48_000, RATE)

    assert resampled.dtype == np.float32
    assert resampled.size == RATE
    spectrum = np.abs(np.fft.rfft(resampled[1_000:-1_000] * np.hanning(RATE - 2_000)))
    frequencies = np.fft.rfftfreq(RATE - 2_000, 1 / RATE)
    assert frequencies[np.argmax(spectrum)] == pytest.approx(440, abs=2)
    # 15 kHz cannot exist at 16 kHz; without filtering it would fold back to 1 kHz.
    folded = spectrum[np.abs(frequencies - 1_000) < 20].max()
    assert folded < spectrum.max() / 100
    assert _level_db(resampled[1_000:-1_000]) == pytest.approx(_level_db(tone), abs=0.5)


# --- through PortAudio ------------------------------------------------------------------


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `code` in a fresh interpreter (fresh PortAudio) and return the JSON it prints."""
    result = _run([sys.executable, "-c", code, *args], env)
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _run(command: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ALSA_CONFIG_PATH"}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, env=environment
    )


_ATTEMPTS = """
import json, sys
from eva.voice.errors import NoMicrophoneError
from eva.voice.microphone import Microphone

def attempt(action):
    try:
        action()
    except NoMicrophoneError as error:
        return str(error)
    return None

answer = {
    "check": attempt(Microphone.check),
    "record": attempt(Microphone().record),
    "start": attempt(Microphone().start),
    "named": attempt(lambda: Microphone.check("usb headset")),
}
try:
    import sounddevice
    answer["inputs"] = [d["name"] for d in sounddevice.query_devices() if d["max_input_channels"]]
except OSError as error:
    answer["import"] = str(error)
print(json.dumps(answer))
"""


def _one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and ". " not in message[:-1]


def test_with_no_input_device_every_way_in_says_there_is_no_microphone() -> None:
    answer = _python(_ATTEMPTS)
    if "import" in answer:
        pytest.skip(f"PortAudio is not installed here: {answer['import']}")
    if answer["inputs"]:
        pytest.skip(f"this machine has input devices: {answer['inputs']}")

    for way in ("check", "record", "start", "named"):
        message = answer[way]
        assert message is not None, way
        assert message.startswith("No microphone"), message
        assert _one_sentence(message), message


def _portaudio_file() -> str:
    """The file the dynamic loader opens for PortAudio here."""
    name = ctypes.util.find_library("portaudio")
    if name is None:
        pytest.skip("PortAudio is not installed here, so there is nothing to hide")
    ctypes.CDLL(name)
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "libportaudio" in Path(path).name:
            return path
    pytest.skip("cannot tell which file holds PortAudio")


def test_without_portaudio_the_answer_is_to_install_libportaudio2() -> None:
    if shutil.which("unshare") is None or not Path("/etc/ld.so.cache").exists():
        pytest.skip("needs Linux's unshare and a loader cache to hide PortAudio")
    # In a private mount namespace the loader's cache and the library file are
    # both covered by empty files: to sounddevice this machine has no PortAudio.
    hide = (
        'mount --bind /dev/null /etc/ld.so.cache && mount --bind /dev/null "$0" || exit 97; '
        'exec "$@"'
    )
    unshare = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", hide]
    result = _run([*unshare, _portaudio_file(), sys.executable, "-c", _ATTEMPTS], None)
    if result.returncode == 97 or "unshare:" in result.stderr:
        pytest.skip(f"cannot make a private mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["import"] == "PortAudio library not found"
    for way in ("check", "record", "start", "named"):
        message = answer[way]
        assert "install libportaudio2" in message, message
        assert _one_sentence(message), message


_RECORD = """
import asyncio, json, sys
import numpy as np
from eva.voice.errors import NoMicrophoneError
from eva.voice.microphone import Microphone

Microphone.check()
by_silence = Microphone(trailing_silence=0.8).record()
by_silence_async = asyncio.run(Microphone(trailing_silence=0.8).record_async())
held = Microphone(max_seconds=2.0)
held.start()
ended_by_itself = held.wait(timeout=30)
by_limit = held.stop()
try:
    Microphone.check("usb headset")
    wrong_name = None
except NoMicrophoneError as error:
    wrong_name = str(error)
recordings = {"silence": by_silence, "silence_async": by_silence_async, "limit": by_limit}
np.savez(sys.argv[1], **{name: r.samples for name, r in recordings.items()})
print(json.dumps({
    "how": {name: [r.stopped_by, r.sample_rate, r.seconds] for name, r in recordings.items()},
    "ended_by_itself": ended_by_itself,
    "wrong_name": wrong_name,
}))
"""


_ALSA_CONF = "/usr/share/alsa/alsa.conf"


@dataclass
class Recorded:
    source: Samples
    """What the file-backed microphone plays: 1 s silence, the command, 2 s silence."""
    speech_end: float
    answer: dict[str, Any]
    samples: dict[str, Samples]


@pytest.fixture(scope="module")
def recorded(command: Samples, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    if ctypes.util.find_library("portaudio") is None or not Path(_ALSA_CONF).exists():
        pytest.skip("needs PortAudio with ALSA (apt install libportaudio2)")
    folder = tmp_path_factory.mktemp("alsa")
    source = np.concatenate((_silence(1.0), command, _silence(2.0)))
    # PortAudio opens the device as float32 mono at the rate asked for, and the
    # file plugin hands the file's bytes over unconverted, so that is its format.
    (folder / "speech.raw").write_bytes(source.astype("<f4").tobytes())
    (folder / "asound.conf").write_text(
        f"<{_ALSA_CONF}>\n"
        f'pcm.!default {{ type file slave.pcm null file "/dev/null" '
        f'infile "{folder / "speech.raw"}" format raw }}\n'
        "ctl.!default { type hw card 0 }\n"
    )
    answer = _python(
        _RECORD, str(folder / "out.npz"), env={"ALSA_CONFIG_PATH": str(folder / "asound.conf")}
    )
    with np.load(folder / "out.npz") as saved:
        samples = {name: saved[name] for name in saved.files}
    return Recorded(source, 1.0 + command.size / RATE, answer, samples)


@pytest.mark.parametrize("way", ["silence", "silence_async"])
def test_a_command_from_the_microphone_ends_on_trailing_silence_and_holds_the_speech(
    recorded: Recorded, way: str
) -> None:
    stopped_by, sample_rate, seconds = recorded.answer["how"][way]
    samples = recorded.samples[way]

    assert (stopped_by, sample_rate) == ("silence", RATE)
    assert seconds == pytest.approx(recorded.speech_end + TRAILING, abs=0.05)
    assert samples.dtype == np.float32
    assert np.array_equal(samples, recorded.source[: samples.size])
    assert _level_db(samples[:RATE]) < -100
    speech = samples[RATE : round(recorded.speech_end * RATE)]
    assert _level_db(speech) > -30
    assert _level_db(samples[round((recorded.speech_end + 0.1) * RATE) :]) < -100


def test_push_to_talk_held_too_long_ends_at_the_limit_with_what_was_heard(
    recorded: Recorded,
) -> None:
    stopped_by, sample_rate, seconds = recorded.answer["how"]["limit"]
    samples = recorded.samples["limit"]

    assert recorded.answer["ended_by_itself"] is True
    assert (stopped_by, sample_rate, seconds) == ("limit", RATE, 2.0)
    assert np.array_equal(samples, recorded.source[: 2 * RATE])


def test_a_microphone_name_that_matches_nothing_lists_the_ones_there_are(
    recorded: Recorded,
) -> None:
    message = recorded.answer["wrong_name"]

    assert message.startswith("No microphone matches 'usb headset'")
    assert "default" in message
    assert _one_sentence(message)
