"""Voice: commands heard with faster-whisper, replies spoken with pyttsx3 and espeak-ng.

Nothing heavy is imported here: the model, PyAV, PortAudio and espeak-ng load
when first used, so typed commands never pay for them.
"""

from eva.voice.endpoint import Endpointer
from eva.voice.errors import (
    ModelError,
    NoMicrophoneError,
    NoSpeechEngineError,
    NotAudioError,
    NothingHeardError,
    TooLongError,
    VoiceError,
)
from eva.voice.hints import Hints
from eva.voice.listener import Heard, Listener, Transcript
from eva.voice.microphone import Microphone, Recording
from eva.voice.nbest import Guess
from eva.voice.session import Exchange, VoiceSession
from eva.voice.source import AudioSource, FileSource
from eva.voice.speech import Speaker, Speech, Voice
from eva.voice.voice_input import VoiceInput

__all__ = [
    "AudioSource",
    "Endpointer",
    "Exchange",
    "FileSource",
    "Guess",
    "Heard",
    "Hints",
    "Listener",
    "Microphone",
    "ModelError",
    "NoMicrophoneError",
    "NoSpeechEngineError",
    "NotAudioError",
    "NothingHeardError",
    "Recording",
    "Speaker",
    "Speech",
    "TooLongError",
    "Transcript",
    "Voice",
    "VoiceError",
    "VoiceInput",
    "VoiceSession",
]
