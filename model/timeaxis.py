"""The time axis every curve, table and metric shares.

Inside, time is in months: the grid, the curves, the bands and the bundle's manifest all
use months, so every modelling constant below has one meaning. A schema declares the unit
its data use (days, weeks, months or years) and the landmarks its users read (by default
1, 3 and 5 years in that unit); :class:`TimeAxis` converts at the edges, where data are
read and where numbers are shown or written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.i18n import N_, _, ngettext

__all__ = [
    "DEFAULT_AXIS",
    "GRID_MAX",
    "GRID_STEP",
    "LANDMARKS",
    "MIN_AT_RISK",
    "MONTHS_PER_UNIT",
    "RISK_HORIZON",
    "UNITS",
    "Landmark",
    "TimeAxis",
    "default_landmarks",
    "years_text",
    "time_grid",
]

LANDMARKS = (12, 36, 60)  # months: 1, 3 and 5 years, the figures every report states
GRID_STEP = 0.5  # months between points of every curve
GRID_MAX = 120.0
# decimals of a month (about 3 seconds) to which the grid, the landmarks and every time are rounded
GRID_DECIMALS = 6
MIN_AT_RISK = 10  # patients still followed for a curve to go on past the last death
RISK_HORIZON = 36.0  # the risk score is the cumulative hazard here (or at the grid's end)

UNITS = ("days", "weeks", "months", "years")
MONTHS_PER_UNIT = {"days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "months": 1.0, "years": 12.0}
_YEARS = (1, 3, 5)


# unit -> the unit as an axis or column title
_UNIT_TITLES = {
    "days": N_("Days"),
    "weeks": N_("Weeks"),
    "months": N_("Months"),
    "years": N_("Years"),
}
_UNIT_NAMES = {
    "days": N_("days"),
    "weeks": N_("weeks"),
    "months": N_("months"),
    "years": N_("years"),
}


def amount(n: float, unit: str, shown: str | None = None) -> str:
    """ "1 year", "3 years", "365 days" in the current language; ``shown`` is ``n`` as it
    is to be written."""
    forms = {  # each written out, so that the catalogue holds them as plural messages
        "days": lambda: ngettext("{n} day", "{n} days", n),
        "weeks": lambda: ngettext("{n} week", "{n} weeks", n),
        "months": lambda: ngettext("{n} month", "{n} months", n),
        "years": lambda: ngettext("{n} year", "{n} years", n),
    }
    return forms[unit]().format(n=f"{n:g}" if shown is None else shown)


def unit_name(unit: str) -> str:
    """The unit in the current language ("months"), e.g. after a number in a column title."""
    return _(_UNIT_NAMES[unit])


def years_text(n: int) -> str:
    """ "1 year", "3 years"."""
    return amount(n, "years")


def default_landmarks(unit: str) -> tuple[float, ...]:
    """1, 3 and 5 years in ``unit``, rounded to whole units (365, 1095, 1826 days)."""
    per_year = 12 / MONTHS_PER_UNIT[unit]
    return tuple(float(round(y * per_year)) for y in _YEARS)


@dataclass(frozen=True)
class Landmark:
    """A time point users read, in the schema's unit and in months."""

    value: float
    months: float

    @property
    def name(self) -> str:
        """How the landmark is written in keys and column names (``surv_12``)."""
        return f"{self.value:g}"


@dataclass(frozen=True)
class TimeAxis:
    """The schema's time unit and landmarks, and the conversions to and from months."""

    unit: str = "months"
    landmarks: tuple[float, ...] = tuple(float(t) for t in LANDMARKS)

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"time unit {self.unit!r} is not one of {', '.join(UNITS)}")

    @property
    def months_per_unit(self) -> float:
        return MONTHS_PER_UNIT[self.unit]

    @property
    def short(self) -> str:
        """The unit's letter for narrow table labels ("AUC 12 m", "365 d")."""
        return self.unit[0]

    def to_months(self, t):
        return t * self.months_per_unit

    def on_grid(self, t):
        """``t`` in months, rounded as the grid and the landmarks are (6 decimals): an event
        recorded at a landmark in days or weeks (26 weeks, 5.979452 months) is then at the
        landmark and counts in survival to it, not just after it."""
        return np.round(self.to_months(t), GRID_DECIMALS)

    def from_months(self, months):
        return months / self.months_per_unit

    @property
    def marks(self) -> tuple[Landmark, ...]:
        # rounded as the grid is, so that a landmark is one of its points exactly
        return tuple(Landmark(float(t), float(self.on_grid(float(t)))) for t in self.landmarks)

    @property
    def risk_horizon_months(self) -> float:
        """The middle landmark (3 years by default): the risk score and decision curves."""
        return self.marks[len(self.marks) // 2].months

    @property
    def last_months(self) -> float:
        return self.marks[-1].months

    def text(self, value: float, digits: int | None = None) -> str:
        """``value`` (in the unit) with its unit, e.g. "12 months", "1 year", "365 days"."""
        shown = f"{value:g}" if digits is None else f"{value:.{digits}f}"
        return amount(float(shown), self.unit, shown)

    def text_months(self, months: float, digits: int | None = None) -> str:
        """A time held in months, said in the unit."""
        return self.text(float(self.from_months(months)), digits)

    @property
    def digits(self) -> int:
        """Decimals of an estimated time (a median): whole days, tenths otherwise."""
        return {"days": 0, "weeks": 1, "months": 1, "years": 2}[self.unit]

    def number(self, months: float | None) -> str:
        """A time held in months as a number in the unit, e.g. "33.0" (months), "1004" (days);
        an en dash where there is none."""
        if months is None or math.isnan(months):
            return "–"
        return f"{float(self.from_months(months)):.{self.digits}f}"

    def years(self, months: float) -> str | None:
        """ "3 years" when ``months`` is a whole number of years, within about 4 days (so that
        157 weeks and 1096 days, the landmarks' rounding, still read as 3 years)."""
        y = months / 12
        if y < 0.5 or abs(y - round(y)) > 0.01:
            return None
        return years_text(round(y))

    def said(self, months: float) -> str:
        """A time held in months, in the unit with as few digits as it needs: "24 months",
        "91 days" (for 3 months)."""
        return self.text(round(float(self.from_months(months)), self.digits))

    def when(self, months: float) -> str:
        """A time as people say it: "3 years" at whole years, else in the unit ("18 months")."""
        return self.years(months) or self.said(months)

    def landmark_text(self, value: float) -> str:
        """A landmark (in the unit) for a table row: "1 year (12 months)", "1 year (365 days)",
        "18 months", "2 years" (when the unit is years)."""
        said, exact = self.years(self.to_months(value)), self.text(value)
        if said and self.unit != "years":
            return _("{said} ({exact})").format(said=said, exact=exact)
        return exact

    def span(self, months) -> str:
        """A range held in months, in the unit: "10-17 months", "304-517 days"."""
        lo, hi = (round(float(self.from_months(m)), self.digits) for m in months)
        return _("{low}-{high} {unit}").format(
            low=f"{lo:g}", high=f"{hi:g}", unit=unit_name(self.unit)
        )

    @property
    def unit_title(self) -> str:
        """The unit at the start of an axis title: "Months"."""
        return _(_UNIT_TITLES[self.unit])

    @property
    def year_step(self) -> float:
        """One year in the unit, rounded."""
        return float(round(12 / self.months_per_unit))

    def tick_step(self, end_months: float) -> float:
        """The spacing of an axis's ticks, in the unit, for an axis from 0 to ``end_months``:
        a year where it spans two years or more, else a round number that gives four to seven
        ticks (10 weeks on a 52-week axis, 100 days on a year, 2 months on a year and a half)."""
        if end_months >= 24:
            return self.year_step
        span = float(self.from_months(end_months))
        if span <= 0:
            return self.year_step
        least = span / 6
        scale = 10 ** math.floor(math.log10(least))
        return float(next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= least))


DEFAULT_AXIS = TimeAxis()


def time_grid(y: np.ndarray, axis: TimeAxis = DEFAULT_AXIS) -> np.ndarray:
    """0 to the end of the curves in steps of GRID_STEP months, and every landmark up to that
    end, so that a landmark in days or weeks (365 days = 11.99 months) is read at itself, not
    at the grid point before it. ``y`` holds times in months.

    The curves end at the last observed death or, if later, the last time at which
    :data:`MIN_AT_RISK` patients were still followed: after the last death every estimate
    (Breslow, Kaplan-Meier, a forest's leaves) is flat, and it says something only while
    enough patients are still followed to show that no death happened. A trial with few
    events whose last death came at 298 days while 213 patients were followed past 300 days
    is read at 300 days; a cohort of 110 whose last 8 patients leave after the last death
    ends at that death. At most GRID_MAX months or the last landmark, whichever is later."""
    e, t = y.dtype.names
    times = np.sort(y[t].astype(float))[::-1]
    end = float(y[t][y[e]].max())
    if len(times) >= MIN_AT_RISK:
        end = max(end, float(times[MIN_AT_RISK - 1]))
    end = min(max(GRID_MAX, axis.last_months), end)
    top = math.floor(end / GRID_STEP) * GRID_STEP
    grid = np.arange(0.0, top + GRID_STEP / 2, GRID_STEP)
    marks = [m.months for m in axis.marks if m.months <= end]
    return np.round(np.union1d(grid, marks), GRID_DECIMALS)
