"""Survival told in words and pictures: 100 people, and a plain sentence per landmark.

The numbers are those of the survival table (:func:`reporting.summary.survival_table`) for
the same prognosis, rounded the same way: "about 69 of 100" is the table's "69 %", and
"between 61 and 79" its "61 % to 79 %". The icon array shows ``round(100 × lower)`` people
certainly alive, ``round(100 × upper) - round(100 × lower)`` who may be either (the 95 %
band), and the rest as died; without a band, ``round(100 × S)`` alive and no uncertainty.

The words for where survival is counted from are one constant, :data:`TIME_ORIGIN`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.prognosis import Prognosis
from model.timeaxis import LANDMARKS
from reporting.summary import LANDMARK_LABELS, fmt_months

__all__ = [
    "ICON_LABELS",
    "PEOPLE",
    "TIME_ORIGIN",
    "IconCounts",
    "icon_counts",
    "icon_years",
    "landmark_sentence",
    "median_sentence",
    "percent",
    "sentences",
    "when_text",
]

# what survival is counted from, in the words a patient uses ("3 years after surgery")
TIME_ORIGIN = "surgery"
PEOPLE = 100
# the three kinds of icon, as the legend and the hover text name them
ICON_LABELS = {
    "alive": "alive",
    "uncertain": "may be alive or not (the uncertainty)",
    "died": "died",
}


def percent(v: float) -> int:
    """A survival probability as a whole percentage, rounded as the table rounds it."""
    return int(f"{100 * v:.0f}")


def when_text(months: float) -> str:
    """ "3 years" for 36 months, "18 months" otherwise (the table's landmark words)."""
    if months in LANDMARK_LABELS:
        return LANDMARK_LABELS[months]
    if float(months).is_integer() and int(months) % 12 == 0 and months > 0:
        years = int(months) // 12
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{months:g} months"


@dataclass(frozen=True)
class IconCounts:
    """How 100 people like this patient fare at ``months``."""

    months: float
    alive: int  # round(100 × S(t)): the estimate
    lower: int | None  # round(100 × lower bound); None without a band
    upper: int | None

    @property
    def has_band(self) -> bool:
        return self.lower is not None and self.upper is not None

    @property
    def certain(self) -> int:
        """Icons drawn as alive."""
        return self.lower if self.has_band else self.alive

    @property
    def uncertain(self) -> int:
        """Icons that may be either, from the band."""
        return self.upper - self.lower if self.has_band else 0

    @property
    def died(self) -> int:
        return PEOPLE - self.certain - self.uncertain


def icon_counts(p: Prognosis, months: float) -> IconCounts | None:
    """The counts at ``months``; None outside the prognosis's grid (before its start, when
    conditional, or beyond the training follow-up)."""
    if months < p.grid[0] or p.at(months) is None:
        return None
    est, lo, hi = p.at(months)
    band = all(math.isfinite(x) for x in (lo, hi))
    return IconCounts(
        months=months,
        alive=percent(est),
        lower=percent(lo) if band else None,
        upper=percent(hi) if band else None,
    )


def icon_years(p: Prognosis, most: int = 5) -> list[int]:
    """Whole years (1 to ``most``) at which the icon array can be drawn for ``p``."""
    return [y for y in range(1, most + 1) if icon_counts(p, 12 * y) is not None]


def _who(alive_at: float) -> str:
    if alive_at:
        return f"Of {PEOPLE} patients like this who are alive {when_text(alive_at)} after {TIME_ORIGIN}"
    return f"Of {PEOPLE} patients like this"


def _are(n: int) -> str:
    return f"{n} is" if n == 1 else f"{n} are"


def landmark_sentence(p: Prognosis, months: float, alive_at: float = 0) -> str | None:
    """ "Of 100 patients like this, about 69 are alive 3 years after surgery; given the
    uncertainty, between 61 and 79." (no band: the first clause only); None where the
    table has no number."""
    c = icon_counts(p, months)
    if c is None:
        return None
    text = f"{_who(alive_at)}, about {_are(c.alive)} alive {when_text(months)} after {TIME_ORIGIN}"
    if c.has_band:
        text += f"; given the uncertainty, between {c.lower} and {c.upper}"
    return text + "."


def median_sentence(p: Prognosis, alive_at: float = 0) -> str:
    """The median survival in words, with the table's numbers."""
    med, lo, hi = p.median
    end = f"{p.grid[-1]:g}"
    share = "about half" if med is not None else "more than half"
    if alive_at:
        who = f"Of patients like this who are alive {when_text(alive_at)} after {TIME_ORIGIN}, {share}"
    else:
        who = f"{share[:1].upper()}{share[1:]} of patients like this"
    if med is None:
        return (
            f"{who} are still alive {end} months after {TIME_ORIGIN}, the end of the "
            "model's follow-up: the median survival is not reached."
        )
    text = (
        f"{who} are still alive {fmt_months(med)} months after {TIME_ORIGIN} (the median survival)"
    )
    if p.has_band and lo is not None:
        upper = f"{fmt_months(hi)} months" if hi is not None else f"more than {end} months"
        text += f"; given the uncertainty, between {fmt_months(lo)} months and {upper}"
    return text + "."


def sentences(p: Prognosis, alive_at: float = 0) -> list[str]:
    """One sentence per landmark the table shows, then the median."""
    out = [landmark_sentence(p, t, alive_at) for t in LANDMARKS]
    return [s for s in out if s] + [median_sentence(p, alive_at)]
