"""Duration text: read Go style, ISO 8601 and seconds; write Go style.

Reading (`parse_duration`) accepts

- Go style, as ``time.ParseDuration`` does: a sequence of decimal numbers,
  each with a unit, such as ``"30m"``, ``"1h30m"``, ``"500ms"``, ``"1.5h"``,
  ``"2h45m30.5s"``; units ``ns us µs ms s m h`` (``μs`` too); ``"0"``;
- ISO 8601 with weeks, days, hours, minutes and seconds, such as ``"PT30M"``,
  ``"P1DT2H"``, ``"PT0.5S"``, ``"P2W"`` (years and months have no fixed
  length and are refused);
- plain seconds: an ``int`` or ``float`` or a numeric string (``"90"``,
  ``"1.5"``).

A leading ``-`` or ``+`` is accepted. Values are exact (no float rounding on
the way) and rounded half-even to whole microseconds, the resolution of
`timedelta`.

Writing (`format_duration`) gives the shortest exact Go-style text that
``time.ParseDuration`` reads back: ``"30m"``, ``"1m30s"``, ``"500ms"``,
``"1h0.5s"``, ``"0s"``. Zero components are left out (Go's own ``String()``
writes ``"30m0s"``; both parse the same).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from fractions import Fraction

__all__ = ["format_duration", "parse_duration"]

_MAX_TEXT = 64
_MAX_MICROS = timedelta.max // timedelta(microseconds=1)

_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_GO_UNIT_MICROS = {
    "ns": Fraction(1, 1000),
    "us": Fraction(1),
    "\u00b5s": Fraction(1),  # micro sign
    "\u03bcs": Fraction(1),  # Greek small letter mu
    "ms": Fraction(1000),
    "s": Fraction(1_000_000),
    "m": Fraction(60_000_000),
    "h": Fraction(3_600_000_000),
}
_GO_PART = re.compile(rf"({_NUMBER})(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO_WHOLE = re.compile(rf"(?:{_GO_PART.pattern})+")
_SECONDS = re.compile(rf"{_NUMBER}(?:[eE][-+]?[0-9]{{1,3}})?")
_ISO_NUMBER = r"[0-9]+(?:[.,][0-9]+)?"
_ISO = re.compile(
    rf"P(?:(?P<W>{_ISO_NUMBER})W)?(?:(?P<D>{_ISO_NUMBER})D)?"
    rf"(?:T(?:(?P<H>{_ISO_NUMBER})H)?(?:(?P<M>{_ISO_NUMBER})M)?(?:(?P<S>{_ISO_NUMBER})S)?)?"
)
_ISO_UNIT_MICROS = {
    "W": Fraction(7 * 86_400_000_000),
    "D": Fraction(86_400_000_000),
    "H": Fraction(3_600_000_000),
    "M": Fraction(60_000_000),
    "S": Fraction(1_000_000),
}

EXPECTED = (
    'expected a Go duration such as "1h30m" or "500ms", an ISO 8601 duration such as '
    '"PT30M" (weeks, days, hours, minutes, seconds), or a number of seconds'
)


def parse_duration(value: object) -> timedelta:
    """Read a duration; raise `ValueError` with a readable message."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{EXPECTED}, got a boolean")  # noqa: TRY004 - one error type for callers
    if isinstance(value, int):
        return _from_micros(Fraction(value) * 1_000_000)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{EXPECTED}, got {value}")
        return _from_micros(Fraction(value) * 1_000_000)
    if not isinstance(value, str):
        raise ValueError(f"{EXPECTED}, got {type(value).__name__}")  # noqa: TRY004
    if len(value) > _MAX_TEXT:
        raise ValueError(f"duration text longer than {_MAX_TEXT} characters")
    text = value
    sign = 1
    if text[:1] in {"-", "+"}:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    micros = _parse_unsigned(text)
    if micros is None:
        raise ValueError(f"{EXPECTED}, got {value!r}")
    return _from_micros(sign * micros)


def _parse_unsigned(text: str) -> Fraction | None:
    if _SECONDS.fullmatch(text):
        return Fraction(text) * 1_000_000
    if _GO_WHOLE.fullmatch(text):
        return sum(
            (Fraction(number) * _GO_UNIT_MICROS[unit] for number, unit in _GO_PART.findall(text)),
            Fraction(0),
        )
    match = _ISO.fullmatch(text)
    if match is None or text in {"P", "PT"} or text.endswith("T"):
        return None
    return sum(
        (
            Fraction(number.replace(",", ".")) * _ISO_UNIT_MICROS[unit]
            for unit, number in match.groupdict().items()
            if number is not None
        ),
        Fraction(0),
    )


def _from_micros(micros: Fraction) -> timedelta:
    whole = round(micros)
    if abs(whole) > _MAX_MICROS:
        raise ValueError("duration out of range")
    return timedelta(microseconds=whole)


def format_duration(value: timedelta) -> str:
    """Write ``value`` as the shortest exact Go-style duration text."""
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    if hours or minutes:
        text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
        if rest:
            text += _decimal(rest, 1_000_000) + "s"
    elif rest >= 1_000_000:
        text = _decimal(rest, 1_000_000) + "s"
    elif rest >= 1_000:
        text = _decimal(rest, 1_000) + "ms"
    else:
        text = f"{rest}us"
    return sign + text


def _decimal(micros: int, per_unit: int) -> str:
    whole, fraction = divmod(micros, per_unit)
    if not fraction:
        return str(whole)
    digits = len(str(per_unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")
