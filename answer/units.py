"""The unit a question asks its value in ("How large is The Stack v2 in terabytes?"), and whether a
sentence gives a value in it ("a 6.4 TB dataset", not "over 600 programming languages"). Pure
functions over text; every pattern is linear in its input."""

from __future__ import annotations

import re

# Units a question may ask its value in ("... in terabytes?"): the words, and the abbreviations
# and symbols written with a number ("6.4 TB", "565 °C", "$3", "20%").
_UNITS = {
    "terabyte": ("terabytes?", "tb"), "gigabyte": ("gigabytes?", "gb"), "megabyte": ("megabytes?", "mb"),
    "kilobyte": ("kilobytes?", "kb"), "byte": ("bytes?", "[kmgt]i?b"), "second": ("seconds?", "s|secs?"),
    "minute": ("minutes?", "mins?"), "hour": ("hours?", "h|hrs?"), "day": ("days?", "d"), "week": ("weeks?", "wks?"),
    "month": ("months?", "mos?"), "year": ("years?", "yrs?"), "meter": ("met(?:er|re)s?", "m"), "metre": ("met(?:er|re)s?", "m"),
    "kilometer": ("kilomet(?:er|re)s?", "km"), "kilometre": ("kilomet(?:er|re)s?", "km"), "mile": ("miles?", "mi"),
    "foot": ("feet|foot", "ft"), "inch": ("inch(?:es)?", "in"), "kilogram": ("kilograms?", "kg"), "gram": ("grams?", "g"),
    "pound": ("pounds?", "lbs?"), "ton": ("tons?|tonnes?", "t"), "tonne": ("tons?|tonnes?", "t"), "percent": ("percent|per\\s?cent", "%"),
    "dollar": ("dollars?", "usd"), "euro": ("euros?", "eur"), "watt": ("watts?", "w|kw|mw"), "degree": ("degrees?", "°"),
    "liter": ("lit(?:er|re)s?", "l"), "litre": ("lit(?:er|re)s?", "l"), "gallon": ("gallons?", "gal"),
}  # fmt: skip
_IN_UNIT = re.compile(r"\bin\s+(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")s?\b(?!\s+of\b)", re.I)
# "How many terabytes ...": a count of a unit of size, length, mass or volume asks the value in it
# (not of time: "How many years did the war last?" is answered by "from 1337 to 1453").
_MEASURED = ("terabyte", "gigabyte", "megabyte", "kilobyte", "byte", "meter", "metre", "kilometer", "kilometre", "mile",
             "foot", "inch", "kilogram", "gram", "pound", "ton", "tonne", "liter", "litre", "gallon", "watt")  # fmt: skip
_HOW_MANY_UNIT = re.compile(r"\bhow\s+many\s+(" + "|".join(sorted(_MEASURED, key=len, reverse=True)) + r")s?\b", re.I)


def in_asked_unit(question: str, sentence: str) -> bool:
    """Whether `sentence` gives a value in the unit `question` asks it in, if it asks one."""
    m = _IN_UNIT.search(question) or _HOW_MANY_UNIT.search(question)
    if m is None:
        return True
    asked = m.group(1).casefold()
    word, short = _UNITS.get(asked) or _UNITS[asked.rstrip("s")]
    # an abbreviation follows a number and ends there ("6.4 TB"); a symbol may run on ("565 °C")
    after = "" if not short[0].isalpha() else "(?![a-z])"
    money = r"|[$€]\s?\d" if word in ("dollars?", "euros?") else ""
    return re.search(rf"\b(?:{word})\b|\d\s?(?:{short}){after}{money}", sentence, re.I) is not None


def is_unit(word: str) -> bool:
    """Whether `word` names a unit ("pounds", "kilometres"): counting pounds of steam counts steam."""
    w = word.casefold()
    return w in _UNITS or w.rstrip("s") in _UNITS or w.removesuffix("es") in _UNITS
