"""Choosing the thresholds in force: a profile per environment, then overrides.

`load_thresholds()` starts from the documented defaults of the environment
(`EVA_ENV`: dev or prod), applies `EVA_THRESHOLD_<FIELD>` variables, then the
overrides given in code. A value that is not a number, lies outside its range,
or names no threshold is refused with one sentence naming the threshold, the
value and what it may be; nothing half-applied is returned.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from runtime.errors import ThresholdError
from runtime.observe.windows import PROFILES, Thresholds

ENV_PREFIX = "EVA_THRESHOLD_"
"""`EVA_THRESHOLD_SUCCESS_RATE_MIN=0.97` overrides `success_rate_min`."""
ENVIRONMENT_VARIABLE = "EVA_ENV"


@dataclass(frozen=True, slots=True)
class _Range:
    whole: bool
    low: float
    low_open: bool
    high: float

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    @property
    def phrase(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        if self.low_open:
            return f"{kind} above {_show(self.low)} and at most {_show(self.high)}"
        return f"{kind} from {_show(self.low)} to {_show(self.high)}"


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _ranges() -> dict[str, _Range]:
    """Each numeric threshold's range, read from the model's own constraints."""
    ranges: dict[str, _Range] = {}
    for name, info in Thresholds.model_fields.items():
        if info.annotation not in (int, float):
            continue
        low, low_open, high = -math.inf, False, math.inf
        for constraint in info.metadata:
            # annotated_types' Ge / Gt / Le, as pydantic keeps them.
            if (ge := getattr(constraint, "ge", None)) is not None:
                low = float(ge)
            elif (gt := getattr(constraint, "gt", None)) is not None:
                low, low_open = float(gt), True
            elif (le := getattr(constraint, "le", None)) is not None:
                high = float(le)
        ranges[name] = _Range(info.annotation is int, low, low_open, high)
    return ranges


_RANGES = _ranges()


def allowed(field: str) -> str:
    """What a threshold may be, in words ("a number from 0 to 1").

    Raises:
        KeyError: no threshold has this name.
    """
    return _RANGES[field].phrase


def load_thresholds(
    environment: str | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Thresholds:
    """The thresholds in force.

    Args:
        environment: `dev` or `prod` (default: `EVA_ENV`, else dev).
        overrides: field → value, applied last.
        env: the environment variables to read (default: the process's).

    Raises:
        ThresholdError: an unknown environment or threshold, or a value that is
            not a number in its threshold's range.
    """
    variables = os.environ if env is None else env
    source = "" if environment is not None else ENVIRONMENT_VARIABLE
    name = environment if environment is not None else variables.get(ENVIRONMENT_VARIABLE, "dev")
    profile = PROFILES.get(name.strip().lower())
    if profile is None:
        raise ThresholdError(
            "environment", name, f"it must be one of {', '.join(sorted(PROFILES))}", source
        )
    changes: dict[str, float | int] = {}
    for key in sorted(variables):
        if key.startswith(ENV_PREFIX):
            field = key[len(ENV_PREFIX) :].lower()
            changes[field] = _number(field, variables[key], key)
    for field, value in (overrides or {}).items():
        changes[field] = _number(field, value, "")
    try:
        return Thresholds.model_validate({**profile.model_dump(), **changes})
    except ValidationError as exc:  # the ranges above should have caught it first
        field = str(exc.errors()[0]["loc"][0])
        raise ThresholdError(field, changes.get(field), exc.errors()[0]["msg"]) from None


def _number(field: str, raw: object, source: str) -> float | int:
    """`raw` as the threshold's type, checked against its range."""
    rng = _RANGES.get(field)
    if rng is None:
        known = ", ".join(_RANGES)
        raise ThresholdError(
            field, raw, f"there is no such threshold; the thresholds are {known}", source
        )
    refused = ThresholdError(field, raw, f"it must be {rng.phrase}", source)
    number: float
    if isinstance(raw, bool):
        raise refused
    if isinstance(raw, int | float):
        number = raw
    elif isinstance(raw, str):
        try:
            number = float(raw.strip())
        except ValueError:
            raise refused from None
    else:
        raise refused
    if isinstance(number, float) and not math.isfinite(number):
        raise refused
    if number not in rng or (rng.whole and number != int(number)):
        raise refused
    return int(number) if rng.whole else float(number)
