"""The words a schema gives its outputs: population, endpoint, event, time origin, stages.

Every page, report, PDF, command-line summary and model card takes these words from the
schema of the model it shows, so a model of recurrence after breast surgery never speaks
of mesothelioma or deaths. A schema that declares none gets neutral words ("survival",
"events", "from the start of follow-up").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from model.i18n import N_, _

__all__ = [
    "DEFAULT_STAGES",
    "STAGE_KEYS",
    "WORD_KEYS",
    "Stage",
    "Words",
    "parse_stages",
    "parse_words",
]


@dataclass(frozen=True)
class Stage:
    """When a feature's value becomes known; the first stage is when decisions are made."""

    name: str
    label: str  # read after "Known", e.g. "before surgery"


# pre: known when the decision is made (the candidacy view); post: known only later
DEFAULT_STAGES = (Stage("pre", N_("before treatment")), Stage("post", N_("after treatment")))

_GENERIC_USERS = N_(
    "Clinicians and researchers working with patients like those the model was trained on."
)
_GENERIC_NOT_FOR = N_("Patients from a population other than the one the model was trained on.")


@dataclass(frozen=True)
class Words:
    """How outputs name the population, the outcome and the time origin.

    Each is a phrase that reads inside a sentence: "about 69 of 100 are {event_free}
    3 years {origin}", "{events}: 112", "median {endpoint}".
    """

    population: str | None = None  # "patients with ... treated with ..."
    origin: str = N_("from the start of follow-up")  # "after CRS+HIPEC", "from randomisation"
    origin_plain: str | None = None  # the origin in a patient's words ("after surgery")
    endpoint: str = N_("survival")  # "overall survival", "recurrence-free survival"
    event: str = N_("event")  # "death", "recurrence or death": "risk of {event}"
    events: str = N_("events")  # plural noun: "deaths", "recurrences or deaths"
    event_happened: str = N_("had the event")  # "died", "had a recurrence or died"
    event_free: str = N_("event-free")  # "alive", "free of recurrence"
    treatment: str | None = None  # what a candidacy view decides on: "CRS+HIPEC"
    intended_use: str | None = None  # one sentence; built from the words above when absent
    intended_users: str = _GENERIC_USERS
    not_for: tuple[str, ...] = (_GENERIC_NOT_FOR,)

    @property
    def said_origin(self) -> str:
        """The time origin in plain words, for sentences a patient reads."""
        return self.origin_plain or self.origin

    @property
    def endpoint_title(self) -> str:
        """The endpoint at the start of a line: "Overall survival"."""
        return _capital(self.endpoint)

    @property
    def events_title(self) -> str:
        """ "Deaths", at the start of a line."""
        return _capital(self.events)

    def count(self, n: int) -> str:
        """``n`` events in words: "1 death", "3 deaths"."""
        return f"{n} {self.event if n == 1 else self.events}"

    @property
    def if_treated(self) -> str:
        """ "if treated with CRS+HIPEC", "if treated": the candidacy view's condition."""
        if self.treatment:
            return _("if treated with {treatment}").format(treatment=self.treatment)
        return _("if treated")

    @property
    def outcomes_of(self) -> str:
        """ "outcomes of CRS+HIPEC": what the candidacy view weighs."""
        if self.treatment:
            return _("outcomes of {treatment}").format(treatment=self.treatment)
        return _("outcomes of the treatment")

    def purpose(self) -> str:
        """What the model estimates, for whom: the intended use's first sentence."""
        if self.intended_use:
            return self.intended_use
        who = self.population or _("patients like those it was trained on")
        return _("Estimates {endpoint} {origin} for {who}.").format(
            endpoint=self.endpoint, origin=self.origin, who=who
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["not_for"] = list(self.not_for)
        return d


WORD_KEYS = tuple(f.name for f in fields(Words))
STAGE_KEYS = ("name", "label")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def parse_words(raw, problems: list[str], check_keys) -> Words:
    """The ``words`` section: a mapping of phrases (every key optional)."""
    if raw is None:
        return Words()
    if not isinstance(raw, dict):
        problems.append("'words' must be a mapping of phrases, e.g. {endpoint: overall survival}")
        return Words()
    check_keys(raw, WORD_KEYS, "'words'", problems)
    values = {}
    for key in WORD_KEYS:
        if key not in raw or raw[key] is None:
            continue
        value = raw[key]
        if key == "not_for":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append("'words': 'not_for' must be a list of sentences")
                continue
            values[key] = tuple(value)
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"'words': {key!r} must be a non-empty phrase")
        else:
            values[key] = value.strip()
    return Words(**values)


def parse_stages(raw, problems: list[str], check_keys) -> tuple[Stage, ...]:
    """The ``stages`` section: when values become known, in order, the first being when
    decisions are made (default: pre and post, "before/after treatment")."""
    if raw is None:
        return DEFAULT_STAGES
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        problems.append(
            "'stages' must be a list of {name, label}, e.g. [{name: pre, label: before surgery}]"
        )
        return DEFAULT_STAGES
    stages = []
    for i, s in enumerate(raw):
        check_keys(s, STAGE_KEYS, f"stage {i + 1}", problems)
        name, label = s.get("name"), s.get("label")
        if not isinstance(name, str) or not name or not isinstance(label, str) or not label:
            problems.append(f"stage {i + 1}: 'name' and 'label' are required phrases")
            continue
        stages.append(Stage(name, label))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        problems.append(f"'stages': names used twice: {names}")
    return tuple(stages) or DEFAULT_STAGES
