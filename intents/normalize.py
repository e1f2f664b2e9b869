"""Normalisation: what a command says, without how it was typed or heard.

Case, punctuation, polite filler, spelled numbers and the speech-to-text
slips of INTENTS.md must not change a parse. The reason ("because ...") and
the trailing "!" are taken off the original text first, since the reason
keeps its case.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}

# Whisper's tiny.en hears "saga" as these (INTENTS.md); a few are real words,
# which is acceptable in a command language about sagas.
_SAGA_SLIPS = {
    "sager": "saga",
    "sarger": "saga",
    "sanger": "saga",
    "sagar": "saga",
    "sarga": "saga",
    "sargent": "saga",
    "soccer": "saga",
    "target": "saga",
    "sargas": "sagas",
    "suckers": "sagas",
    "sagers": "sagas",
    "sagars": "sagas",
    "sargal": "saga",
    "serger": "saga",
    "sargat": "saga",
}
_DIGIT_GROUPS = re.compile(r"(?<=\d),(?=\d{3}\b)")
"""Whisper writes "saga 1,024"; ids have no thousands separators."""
_HYPHENED_SAGA = re.compile(r"\b(sagas?)-(?=\w)")
"""Whisper writes "saga-19"."""
_WAKE = re.compile(r"^(?:hey |ok |okay )?(?:eva|he will|even|either)\b[,:]?\s*", re.I)
_FILLER_START = re.compile(
    r"^(?:(?:please|kindly|could you|can you|would you|will you|could you please|"
    r"can you please|would you please|i want you to|i'd like you to|i would like you to|"
    r"i need you to|go ahead and|just|now|so|um|uh|okay|ok|hey)\s+)+"
)
_FILLER_END = re.compile(r"(?:\s+(?:please|for me|thanks|thank you|now|right now|for me please))+$")
_REASON = re.compile(
    r"\s*(?:,\s*)?\b(?:because of|because|reason:|reason is|due to|since)\s+(?P<reason>.+)$",
    re.I | re.S,
)
# "since yesterday", "since 3 hours" are windows, not reasons.
_NOT_A_REASON = re.compile(
    r"^(?:yesterday|last|the last|this|today|\d+|[a-z]+ (?:hours?|minutes?|days?|weeks?))\b",
    re.I,
)
_PUNCTUATION = re.compile(r"[^\w\s\-@:]")


def split_confirmation(text: str) -> tuple[str, bool]:
    """The text without a final "!", and whether it had one (a typed confirmation)."""
    stripped = text.rstrip()
    if stripped.endswith("!"):
        return stripped.rstrip("!").rstrip(), True
    return stripped, False


def split_reason(text: str) -> tuple[str, str | None]:
    """The command and its reason: the text after "because", "due to", ... (case kept,
    surrounding spaces and final punctuation removed)."""
    match = _REASON.search(text)
    if match is None:
        return text, None
    reason = match.group("reason").strip().rstrip(".!?").strip()
    if not reason or (
        match.group(0).strip().lower().startswith("since") and _NOT_A_REASON.match(reason)
    ):
        return text, None
    return text[: match.start()].rstrip(" ,"), reason


def words_to_numbers(text: str) -> str:
    """Spelled numbers as digits: "saga forty two" → "saga 42", "top ten" → "top 10".

    "one" stays a word where it is a pronoun ("the last one", "that one").
    """
    tokens = text.replace("-", " - ").split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word == "one" and out and out[-1] in {"last", "that", "this", "the", "which"}:
            out.append(word)
            i += 1
            continue
        value, used = _read_number(tokens, i)
        if used:
            out.append(str(value))
            i += used
        else:
            out.append(word)
            i += 1
    return " ".join(out).replace(" - ", "-")


def _read_number(tokens: list[str], start: int) -> tuple[int, int]:
    """A spelled number starting at `start`: (value, tokens used); (0, 0) if none."""
    total, current, i, used = 0, 0, start, 0
    while i < len(tokens):
        word = tokens[i]
        if (
            word in _UNITS
            and (current % 10 == 0 or current == 0)
            and (current == 0 or current >= 20)
        ):
            current += _UNITS[word]
        elif word in _TENS and current % 100 == 0:
            current += _TENS[word]
        elif word in _SCALES and (current or total):
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] == 1000:
                total, current = total + current, 0
        elif (word == "-" and used and i + 1 < len(tokens) and tokens[i + 1] in _UNITS) or (
            word == "and"
            and used
            and i + 1 < len(tokens)
            and (tokens[i + 1] in _UNITS or tokens[i + 1] in _TENS)
        ):
            i += 1
            continue
        else:
            break
        i += 1
        used = i - start
    return total + current, used


def normalize(text: str) -> str:
    """Lower case, no punctuation but hyphens, no filler, numbers as digits, slips mended."""
    text = text.strip().lower().replace("’", "'").replace("'", "")
    text = _WAKE.sub("", text)
    text = _HYPHENED_SAGA.sub(r"\1 ", _DIGIT_GROUPS.sub("", text))
    text = _PUNCTUATION.sub(" ", text)
    text = " ".join(text.split())
    for _ in range(2):
        text = _FILLER_START.sub("", text)
        text = _FILLER_END.sub("", text)
    words = [_SAGA_SLIPS.get(w, w) for w in text.split()]
    return words_to_numbers(" ".join(words)).strip(" -:")
