"""Survival told in words and pictures: 100 people, and a plain sentence per landmark.

The numbers are those of the survival table (:func:`reporting.summary.survival_table`) for
the same prognosis, rounded the same way: "about 69 of 100" is the table's "69 %", and
"between 61 and 79" its "61 % to 79 %". The icon array shows ``round(100 × lower)`` people
certainly alive, ``round(100 × upper) - round(100 × lower)`` who may be either (the 95 %
band), and the rest as died; without a band, ``round(100 × S)`` alive and no uncertainty.

The words (what is counted from when, what the event is called) and the time unit are
the schema's (:mod:`model.words`, :class:`model.timeaxis.TimeAxis`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.i18n import _, ngettext
from model.prognosis import Prognosis
from model.schema import Schema
from model.timeaxis import unit_name, years_text
from model.words import Words
from reporting.summary import grid_end

__all__ = [
    "ICON_KINDS",
    "PEOPLE",
    "IconCounts",
    "icon_counted",
    "icon_counts",
    "icon_labels",
    "icon_legend",
    "icon_years",
    "year_months",
    "landmark_sentence",
    "median_sentence",
    "patient_notes",
    "percent",
    "rarely_alive_note",
    "sentences",
    "wide_range_note",
]

PEOPLE = 100
# the three kinds of icon, in the order they are drawn
ICON_KINDS = ("alive", "uncertain", "died")


def icon_labels(words: Words) -> dict[str, str]:
    """The icons' names in the legend and the hover text, in the schema's words."""
    return {
        "alive": words.event_free,
        "uncertain": _("may be {event_free} or not (the uncertainty)").format(
            event_free=words.event_free
        ),
        "died": words.event_happened,
    }


def icon_counted(counts: IconCounts, words: Words) -> dict[str, str]:
    """Each kind of icon with its count, as the legend and the leaflet say it. With a band
    the filled and open icons are the band's ends, not the estimate: "at least 3 alive"
    beside a sentence that says "about 20 ... between 3 and 37", where "3 alive" read as the
    patient's own figure."""
    said = icon_labels(words)
    if not counts.has_band:
        return {
            "alive": _("{n} {label}").format(n=counts.certain, label=said["alive"]),
            "died": _("{n} {label}").format(n=counts.died, label=said["died"]),
        }
    return {
        "alive": _("at least {n} {label}").format(n=counts.certain, label=said["alive"]),
        "uncertain": _("{n} may be either").format(n=counts.uncertain),
        "died": _("at least {n} {label}").format(n=counts.died, label=said["died"]),
    }


def icon_legend(words: Words, has_band: bool) -> str:
    """The icon array's legend in plain words, for the patient's page and PDF."""
    said = icon_labels(words)
    text = _("Filled circles: {alive}. Open circles: {died}.").format(
        alive=said["alive"], died=said["died"]
    )
    if has_band:
        text += " " + _("Diamonds: may be either, because no model is exact.")
    return text


def percent(v: float) -> int:
    """A survival probability as a whole percentage, rounded as the table rounds it."""
    return int(f"{100 * v:.0f}")


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
        """Icons drawn as alive (event-free)."""
        return self.lower if self.has_band else self.alive

    @property
    def uncertain(self) -> int:
        """Icons that may be either, from the band."""
        return self.upper - self.lower if self.has_band else 0

    @property
    def died(self) -> int:
        """Icons drawn as having had the event."""
        return PEOPLE - self.certain - self.uncertain


def icon_counts(p: Prognosis, months: float) -> IconCounts | None:
    """The counts at ``months``; None outside the prognosis's grid (at or before its start,
    when conditional, or beyond the training follow-up)."""
    if not p.after_start(months) or p.at(months) is None:
        return None
    est, lo, hi = p.at(months)
    band = all(math.isfinite(x) for x in (lo, hi))
    return IconCounts(
        months=months,
        alive=percent(est),
        lower=percent(lo) if band else None,
        upper=percent(hi) if band else None,
    )


def year_months(schema: Schema, year: int) -> float:
    """Where the picture of ``year`` is read (months): the schema's landmark at that year
    when it has one (365 days = 11.99 months), so that it shows the table's numbers."""
    axis = schema.time_axis
    at = [m.months for m in axis.marks if axis.years(m.months) == years_text(year)]
    return at[0] if at else 12.0 * year


def icon_years(p: Prognosis, schema: Schema, most: int = 5) -> list[int]:
    """Whole years (1 to ``most``) at which the icon array can be drawn for ``p``."""
    return [y for y in range(1, most + 1) if icon_counts(p, year_months(schema, y)) is not None]


def _who(schema: Schema, alive_at: float, for_patient: bool = False) -> str:
    """Whom a sentence counts: patients like this one, or, to the patient, like you."""
    w = schema.words
    fields = dict(people=PEOPLE, event_free=w.event_free, origin=w.said_origin)
    if alive_at:
        fields["when"] = schema.time_axis.when(alive_at)
        if for_patient:
            return _("Of {people} patients like you who are {event_free} {when} {origin}").format(
                **fields
            )
        return _("Of {people} patients like this who are {event_free} {when} {origin}").format(
            **fields
        )
    if for_patient:
        return _("Of {people} patients like you").format(**fields)
    return _("Of {people} patients like this").format(**fields)


def landmark_sentence(
    p: Prognosis, schema: Schema, months: float, alive_at: float = 0, for_patient: bool = False
) -> str | None:
    """ "Of 100 patients like this, about 69 are alive 3 years after CRS+HIPEC; given the
    uncertainty, between 61 and 79." (no band: the first clause only; ``for_patient``: "like
    you", as the patient's headings say it); None where the table has no number. Times in
    months; words from the schema."""
    c = icon_counts(p, months)
    if c is None:
        return None
    w, when = schema.words, schema.time_axis.when(months)
    fields = dict(
        who=_who(schema, alive_at, for_patient),
        n=c.alive,
        event_free=w.event_free,
        when=when,
        origin=w.said_origin,
        lower=c.lower,
        upper=c.upper,
    )
    if c.has_band:
        return ngettext(
            "{who}, about {n} is {event_free} {when} {origin}; given the uncertainty, "
            "between {lower} and {upper}.",
            "{who}, about {n} are {event_free} {when} {origin}; given the uncertainty, "
            "between {lower} and {upper}.",
            c.alive,
        ).format(**fields)
    return ngettext(
        "{who}, about {n} is {event_free} {when} {origin}.",
        "{who}, about {n} are {event_free} {when} {origin}.",
        c.alive,
    ).format(**fields)


def median_sentence(
    p: Prognosis, schema: Schema, alive_at: float = 0, for_patient: bool = False
) -> str:
    """The median in words, with the table's numbers; to the patient without the words
    "median" and "follow-up", which the numbers say without them."""
    w, axis = schema.words, schema.time_axis
    med, lo, hi = p.median
    end = axis.text(float(grid_end(axis, p)))
    fields = dict(event_free=w.event_free, origin=w.said_origin, endpoint=w.endpoint, end=end)
    fields["who"] = _median_who(med is not None, alive_at, for_patient).format(
        **fields, when_alive=axis.when(alive_at) if alive_at else ""
    )
    if med is None:
        return _not_reached_sentence(lo if p.has_band else None, axis, fields, for_patient)
    fields["median"] = _time(axis, med)
    if p.has_band and lo is not None:
        fields["lower"] = _time(axis, lo)
        fields["upper"] = (
            _time(axis, hi) if hi is not None else _("more than {end}").format(end=end)
        )
        if for_patient:
            return _(
                "{who} are still {event_free} {median} {origin}; given the uncertainty, that "
                "time could be anywhere from {lower} to {upper}."
            ).format(**fields)
        return _(
            "{who} are still {event_free} {median} {origin} (the median {endpoint}); given "
            "the uncertainty, between {lower} and {upper}."
        ).format(**fields)
    if for_patient:
        return _("{who} are still {event_free} {median} {origin}.").format(**fields)
    return _("{who} are still {event_free} {median} {origin} (the median {endpoint}).").format(
        **fields
    )


def _median_who(reached: bool, alive_at: float, for_patient: bool) -> str:
    """The subject of the median's sentence (a template): about half of the patients like
    this one (to the patient: like you), or more than half where the median is not reached."""
    if alive_at and for_patient:
        return (
            _("Of patients like you who are {event_free} {when_alive} {origin}, about half")
            if reached
            else _(
                "Of patients like you who are {event_free} {when_alive} {origin}, more than half"
            )
        )
    if alive_at:
        return (
            _("Of patients like this who are {event_free} {when_alive} {origin}, about half")
            if reached
            else _(
                "Of patients like this who are {event_free} {when_alive} {origin}, more than half"
            )
        )
    if for_patient:
        return (
            _("About half of patients like you")
            if reached
            else _("More than half of patients like you")
        )
    return (
        _("About half of patients like this")
        if reached
        else _("More than half of patients like this")
    )


def _not_reached_sentence(lo: float | None, axis, fields: dict, for_patient: bool) -> str:
    """The median not reached within the grid, and, where the band's lower edge reaches
    50 % within it (``lo``: when, in months; None otherwise), how short the median could be
    given the uncertainty (as the table's interval says it)."""
    if for_patient:
        text = _(
            "{who} are still {event_free} {end} {origin}, as far as the records the model "
            "learned from reach."
        ).format(**fields)
        if lo is not None:
            text += " " + _(
                "Given the uncertainty, it could also be that only half are still "
                "{event_free} {lower} {origin}."
            ).format(**fields, lower=_time(axis, lo))
        return text
    if lo is None:
        return _(
            "{who} are still {event_free} {end} {origin}, the end of the model's follow-up: "
            "the median {endpoint} is not reached."
        ).format(**fields)
    return _(
        "{who} are still {event_free} {end} {origin}, the end of the model's follow-up: "
        "the median {endpoint} is not reached; given the uncertainty, it could be as short "
        "as {lower}."
    ).format(**fields, lower=_time(axis, lo))


def _time(axis, months: float) -> str:
    """A time with the table's digits and its unit: "33.0 months", "1004 days"."""
    return _("{number} {unit}").format(number=axis.number(months), unit=unit_name(axis.unit))


def sentences(
    p: Prognosis, schema: Schema, alive_at: float = 0, for_patient: bool = False
) -> list[str]:
    """One sentence per landmark the table shows, then the median (``for_patient``: in the
    patient's words, :func:`median_sentence`)."""
    out = [
        landmark_sentence(p, schema, m.months, alive_at, for_patient)
        for m in schema.time_axis.marks
    ]
    return [s for s in out if s] + [median_sentence(p, schema, alive_at, for_patient)]


# points of 100 that the 95 % range spans at the risk horizon for it to be called wide: a
# band about as wide as the correctly specified model's own from some 110 patients (0.5-0.6 at
# 3 years in benchmarks/accuracy.py) is wide by this measure; from 2,000 patients (0.1-0.2) not
WIDE_RANGE = 40


def wide_range_note(
    p: Prognosis, schema: Schema, trained_on: int | None, for_patient: bool = False
) -> str | None:
    """Said where the 95 % range at the risk horizon spans ``WIDE_RANGE`` of 100 or more:
    that the figure in its middle is not a precise one, and how many patients the model
    learned from (``trained_on``; None: not said); to the patient, of "you"."""
    months = schema.time_axis.risk_horizon_months
    c = icon_counts(p, months)
    if c is None or not c.has_band or c.upper - c.lower < WIDE_RANGE:
        return None
    fields = dict(
        when=schema.time_axis.when(months),
        origin=schema.words.said_origin,
        lower=c.lower,
        upper=c.upper,
        n=trained_on,
    )
    text = (
        _(
            "The range {when} {origin} is wide, {lower} to {upper} of 100: the model cannot "
            "say it more precisely for patients like you, so the whole range matters, not "
            "only the number in its middle."
        )
        if for_patient
        else _(
            "The range {when} {origin} is wide, {lower} to {upper} of 100: the numbers cannot "
            "be placed more precisely for this patient, so weigh the whole range, not only "
            "the figure in its middle."
        )
    ).format(**fields)
    if trained_on:
        text += " " + _("The model learned from {n} patients.").format(**fields)
    return text


def rarely_alive_note(p: Prognosis, schema: Schema, for_patient: bool = False) -> str | None:
    """Said where ``p`` is given alive at a time at which the patient's own curve gave under
    a 1 % chance of being alive (:attr:`Prognosis.rests_on_few`); None otherwise."""
    if not p.rests_on_few:
        return None
    fields = dict(
        event_free=schema.words.event_free,
        when=schema.time_axis.said(float(p.grid[0])),
        origin=schema.words.said_origin,
    )
    if for_patient:
        return _(
            "Very few patients like you are still {event_free} {when} {origin}: under 1 in "
            "100. The numbers for those who are rest on almost no one, so they can change a "
            "lot with the time chosen."
        ).format(**fields)
    return _(
        "Conditional survival: the model gives this patient under a 1 % chance of being "
        "{event_free} at {when}. Hardly any patient like this one was, so the numbers given "
        "that rest on almost nothing and can jump with the time chosen."
    ).format(**fields)


def patient_notes(
    schema: Schema,
    p: Prognosis,
    unknown: list[str] = (),
    warnings: list[str] = (),
    trained_on: int | None = None,
) -> list[str]:
    """What a patient should know to read the numbers, in plain words (no jargon): where
    they come from, what they cannot say, the uncertainty, unknown facts, and values
    outside those the model learned from (``warnings``, the clinician's out-of-range ones)."""
    w = schema.words
    notes = [
        _(
            "These numbers come from a computer model that learned from the records of "
            "{population}. They say how a group of patients like you fared; they cannot say "
            "what will happen to you."
        ).format(population=w.population or _("earlier patients")),
        _(
            "Your doctors know things about you that the model does not. Please talk the "
            "numbers through with them."
        ),
    ]
    # the range explained is the patient's own first one (the sentences' numbers)
    counts = [icon_counts(p, m.months) for m in schema.time_axis.marks]
    first = next((c for c in counts if c is not None and c.lower is not None), None)
    if first is not None:
        notes.append(
            _(
                'No model is exact. "Between {lower} and {upper}" means that the true number '
                "for patients like you is very likely somewhere in that range."
            ).format(lower=first.lower, upper=first.upper)
        )
    for note in (
        wide_range_note(p, schema, trained_on, for_patient=True),
        rarely_alive_note(p, schema, for_patient=True),
    ):
        if note:
            notes.append(note)
    if unknown:
        names = _(", ").join(schema.feature(n).label for n in unknown)
        notes.append(
            _(
                "Some facts were not known ({names}). The estimate allows for every value "
                "they could have, which makes the range wider."
            ).format(names=names)
        )
    if warnings:
        notes.append(
            _(
                "Some of the facts entered are outside what the model learned from, so these "
                "numbers are less reliable:"
            )
            + " "
            # each warning a clause, not run into the next ("... extrapolates CEA before ...")
            + _("{warnings}.").format(warnings=_("; ").join(warnings))
        )
    return notes
