"""What can go wrong with voice, each as one sentence the Chairman can act on."""

from __future__ import annotations


class VoiceError(Exception):
    """Base: the message is the whole answer, fit to show or speak."""


class NotAudioError(VoiceError):
    """The file holds no audio stream that can be decoded."""


class NothingHeardError(VoiceError):
    """The audio decodes but holds no speech (empty, silent, or only noise)."""


class TooLongError(VoiceError):
    """More speech than one command; EVA listens for commands, not meetings."""


class ModelError(VoiceError):
    """The speech-to-text model cannot be found or loaded."""


class NoMicrophoneError(VoiceError):
    """No PortAudio library, or no input device to record from."""


class NoSpeechEngineError(VoiceError):
    """No speech synthesiser (pyttsx3 without espeak-ng), or no output device to play to."""
