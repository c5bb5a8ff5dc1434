"""The page's model: which registry, which bundle, which model; loaded once per process.

Bundles are verified (SHA-256 of every file, library versions) before they are
unpickled, and only bundles registered in the app's own registry are ever loaded;
a file uploaded through the page is never unpickled. If the chosen bundle fails
verification the page says why and serves the last good one instead, through the
registry's own fallback (:meth:`model.registry.Registry.load_last_good`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import streamlit as st

from model.bundle import MANIFEST, BundleError, read_manifest, sha256_file
from model.default_build import LOG, PENDING, pending, retry_allowed
from model.engine import Engine
from model.i18n import DEFAULT, LANGUAGES, N_, _, language, number, set_language
from model.registry import INDEX, NothingServable, Registry, RegistryError
from model.schema import SchemaDefinitionError, bundled_schema
from reporting.wording import simulated_warning
from ui.choices import kept_index, remember

__all__ = [
    "MODELS_ENV",
    "Choice",
    "choose_language",
    "choose_model",
    "models_root",
    "validation_report",
]

MODELS_ENV = "HIPEC_MODELS"
# the calculator's last patient without errors, which the compare page can start from
CALCULATOR_PATIENT = "calculator.patient"
APP_DIR = Path(__file__).resolve().parents[1]


def models_root() -> Path:
    """The registry folder: ``$HIPEC_MODELS`` or ``models/`` beside app.py."""
    return Path(os.environ.get(MODELS_ENV) or APP_DIR / "models")


@st.cache_resource(show_spinner=False, max_entries=4)
def _engine(root: str, version_id: str, manifest_sha256: str) -> Engine:
    # keyed by the manifest's hash: a retrained bundle under the same id is loaded afresh
    return Engine(Registry(root).load(version_id))


@dataclass
class Choice:
    """What the user picked in the sidebar, loaded."""

    engine: Engine
    model: str
    version_id: str
    manifest_sha256: str
    problems: list[str]

    @property
    def bundle(self):
        return self.engine.bundle

    @cached_property
    def schema(self):
        """The bundle's schema in the reader's language (labels, help texts, words); a Choice
        lives for one rerun, whose language is fixed, so it is localised once."""
        return self.engine.schema.localized()

    @property
    def model_label(self) -> str:
        return _(self.bundle.manifest.label(self.model))

    @property
    def synthetic(self) -> bool:
        return self.bundle.manifest.synthetic


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st_ = path.stat()
    except OSError:
        return None
    return st_.st_mtime_ns, st_.st_size


# Every rerun (each input change) runs choose_model: the registry's files are re-read and
# re-hashed only when they change on disk, not on every keystroke. Loading still verifies
# every file's SHA-256 (Registry.load) whenever a bundle enters the cache.
@st.cache_data(max_entries=8, show_spinner=False)
def _rows(root: str, stamp) -> list[dict]:
    return Registry(root).rows()


@st.cache_data(max_entries=8, show_spinner=False)
def _pending(root: str, stamp) -> dict | None:
    return pending(root)  # the default build's record: no patient data


@st.cache_data(max_entries=32, show_spinner=False)
def _manifest_sha(path: str, stamp) -> str:
    return sha256_file(Path(path))


@st.cache_data(max_entries=8, show_spinner=False)
def _candidacy_stage(path: str, stamp, lang: str) -> str | None:
    """The decision stage's label ("before surgery") of a schema that declares operative
    outcomes, "" for one that does not, None when the manifest cannot be read."""
    try:
        schema = bundled_schema(read_manifest(Path(path).parent).schema)
    except (BundleError, SchemaDefinitionError):
        return None
    schema = schema.localized(lang)
    return schema.stage_label(schema.decision_stage) if schema.operative_outcomes else ""


def offers_candidacy() -> str | None:
    """Whether the bundle the sidebar will show declares operative outcomes, read from its
    manifest alone (the navigation is drawn before the bundle is loaded): the label of its
    decision stage ("before surgery"), "" when it declares none, None when that cannot be
    told (the page is then offered and says itself why it cannot be used)."""
    root = models_root()
    vid = st.session_state.get("bundle")
    if vid is None:
        try:
            vid = Registry(root).active_id
        except RegistryError:
            return None
    if not isinstance(vid, str) or vid.startswith(".") or "/" in vid:
        return None
    manifest = root / vid / MANIFEST
    return _candidacy_stage(str(manifest), _stamp(manifest), language())


@st.cache_resource(max_entries=4, show_spinner=False)
def _validation_report(path: str, manifest_sha256: str) -> dict:
    from reporting.card import load_report

    return load_report(Path(path))


@st.cache_resource(max_entries=8, show_spinner=False)
def _group_predictions(root: str, version_id: str, manifest_sha256: str, model: str):
    from model.plausibility import group_predictions

    return group_predictions(_engine(root, version_id, manifest_sha256), model)


def group_predictions(choice: Choice, model: str):
    """The model's prediction for a typical patient of each published group: from the
    bundle alone (no patient's data), so computed once per bundle and model."""
    return _group_predictions(str(models_root()), choice.version_id, choice.manifest_sha256, model)


def validation_report(choice: Choice) -> dict:
    """The chosen bundle's validation report (report.json), read once per bundle."""
    return _validation_report(str(choice.bundle.path), choice.manifest_sha256)


def _load(root: Path, vid: str) -> tuple[Engine, str]:
    manifest = root / vid / MANIFEST
    sha = _manifest_sha(str(manifest), _stamp(manifest))
    # the spinner here, not on the cache, so that its text is in the reader's language (it
    # shows only when loading takes over half a second, i.e. not on a cached rerun)
    with st.spinner(_("Verifying and loading the model…")):
        return _engine(str(root), vid, sha), sha


def _label(row: dict) -> str:
    bits = [row["version_id"]]
    if row.get("active"):
        bits.append(_("(active)"))
    if row.get("rows"):
        bits.append("· " + _("{n} patients").format(n=number(row["rows"], grouped=True)))
    return " ".join(bits)


def _when(iso: str | None) -> str:
    """A recorded UTC time as people read it ("02:30 UTC, 23 Nov")."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).strftime("%H:%M UTC, %d %b")
    except ValueError:
        return _("earlier")


def _model_radio(engine: Engine, vid: str) -> str | None:
    """The sidebar's model: only clinical models are offered (the forest is a comparison on
    the model card); None, said on the page, when the bundle has none."""
    names, default = engine.clinical_models, engine.default_model
    if not names:
        st.error(
            _(
                "Bundle {vid} holds no model for clinical predictions ({models}: a comparison "
                "only). Retrain it with the Cox model, or choose another bundle."
            ).format(vid=vid, models=", ".join(engine.models))
        )
        return None
    key = f"model.{vid}"
    # labels made now: Streamlit may format options outside this rerun's language
    words = {
        m: _(engine.bundle.manifest.label(m)) + (" " + _("(default)") if m == default else "")
        for m in names
    }
    index = names.index(default) if default in names else 0
    model = st.sidebar.radio(
        _("Model"),
        names,
        index=kept_index(key, names, index, [words[m] for m in names]),
        format_func=words.get,
        key=key,
        help=_(
            "The models that may serve a patient's prediction. The penalised Cox model gives a "
            "95 % band and exact factor contributions; the random survival forest, not "
            "calibrated and without a band, is a comparison on the model card only."
        ),
        persist_state="session",
    )
    remember(key, model)
    return model


def _build_notes(root: Path) -> None:
    """The default bundle's background build, if any: running, or why it failed."""
    building = _pending(str(root), _stamp(root / PENDING))
    if building and building.get("last_error"):
        st.sidebar.warning(
            _(
                "The complete default bundle (random survival forest, full validation report) "
                "could not be built: {error}. The Cox model is unaffected. Details are in {log};"
            ).format(error=building["last_error"], log=root / LOG)
            + " "
            + (
                _("the page tries again the next time it starts.")
                if retry_allowed(building)
                else _("once the cause is fixed, run `python -m training default --complete`.")
            )
        )
    elif building:
        st.sidebar.caption(
            _(
                "The default bundle's random survival forest and full validation report are "
                "being trained in the background (started {when}); they will be listed here as "
                "a new bundle when ready. The Cox model's numbers stay the same."
            ).format(when=_when(building.get("recorded")))
        )


def choose_model() -> Choice | None:
    """Sidebar model chooser over the registry; falls back to the last good bundle."""
    root = models_root()
    try:
        rows = _rows(str(root), _stamp(root / INDEX))
    except RegistryError as exc:
        st.error(_("The model registry cannot be read: {error}").format(error=exc))
        return None
    if not rows:
        st.error(
            _(
                "No model in {root}. Build the default one with `bash scripts/start.sh`, or "
                "train one with `python -m training fit --data FILE.csv --promote`."
            ).format(root=root)
        )
        return None
    # the active bundle first (the chooser's default), then newest first
    rows.sort(key=lambda r: not r.get("active"))
    labels = {r["version_id"]: _label(r) for r in rows}
    picked = st.sidebar.selectbox(
        _("Model bundle"),
        list(labels),
        index=kept_index("bundle", list(labels), 0, list(labels.values())),
        format_func=labels.get,
        key="bundle",
        help=_("Bundles in this app's registry. The active one is the default."),
        persist_state="session",
    )
    remember("bundle", picked)
    # the box shows one line and cuts a long label (the id's end, "(active)", the patients);
    # beneath it the whole, wrapped
    st.sidebar.caption(labels[picked])
    served: dict = {}

    def load(vid: str):  # the cached engine: verified and unpickled once per bundle
        engine, sha = _load(root, vid)
        served.update(vid=vid, engine=engine, sha=sha)
        return engine.bundle

    # the chosen bundle, then, only if it is refused, the registry's fallback order
    # (active, previously active newest first), then any other bundle listed
    try:
        result = Registry(root).load_last_good(picked, then=list(labels), load=load)
    except NothingServable as exc:
        for vid, why in exc.skipped:
            st.error(_("Bundle {vid} was refused: {why}").format(vid=vid, why=why))
        st.error(_("No bundle in the registry passed verification; nothing can be shown."))
        return None
    except RegistryError as exc:
        st.error(_("The model registry cannot be read: {error}").format(error=exc))
        return None
    vid, engine, sha = served["vid"], served["engine"], served["sha"]
    problems = [
        _("Bundle {vid} was refused: {why}").format(vid=skipped, why=why)
        for skipped, why in result.skipped
    ]
    for p in problems:
        st.error(p + " " + _("Showing bundle {vid} instead.").format(vid=vid))
    model = _model_radio(engine, vid)
    if model is None:
        return None
    _build_notes(root)
    return Choice(
        engine=engine, model=model, version_id=vid, manifest_sha256=sha, problems=problems
    )


READING_MODES = {"clinician": N_("Clinician"), "patient": N_("For the patient")}
# larger type for the patient's reading mode (CSS only: no user data goes into it)
PATIENT_CSS = """<style>
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li {
  font-size: 1.3rem; line-height: 1.6;
}
</style>"""


# A table wider than the screen fades out at its right edge until scrolled to its end: a
# phone's overlay scrollbar shows only while scrolling, and the model card's columns of the
# model's own figures lay off-screen with nothing to say they were there. A mask, not a
# colour, so the cue holds in the dark theme. Scroll timelines are in Chromium from 115 and
# Safari from 26; a browser without them shows the table as before.
WIDE_TABLE_CSS = """<style>
[data-testid="stTable"] > div {
  animation: more-to-the-right linear both;
  animation-timeline: scroll(self inline);
}
@keyframes more-to-the-right {
  0%, 96% { mask-image: linear-gradient(to right, #000 calc(100% - 48px), transparent); }
  100% { mask-image: none; }
}
</style>"""


def page_style() -> None:
    """The styles every page takes (CSS only: no user data goes into it)."""
    st.html(WIDE_TABLE_CSS)  # style alone: Streamlit gives it no room on the page


def reading_mode() -> str:
    """The sidebar's reading mode: ``clinician`` (every number) or ``patient`` (larger type,
    the same figures in words and pictures, no tables or jargon)."""
    mode = st.sidebar.segmented_control(
        _("Reading mode"),
        list(READING_MODES),
        format_func={m: _(label) for m, label in READING_MODES.items()}.get,
        default="clinician",
        key="mode",
        help=_(
            "For the patient: larger type, the same numbers in plain words and pictures of "
            "100 people, without tables, ratios or jargon; a patient version of the PDF."
        ),
        persist_state="session",
    )
    mode = mode or "clinician"  # a second click deselects: stay on the clinician's view
    if mode == "patient":
        st.markdown(PATIENT_CSS, unsafe_allow_html=True)
    return mode


def choose_language() -> str:
    """The sidebar's language, set for the rest of this rerun (every message, the schema's
    labels and words, the PDFs); English by default."""
    lang = st.sidebar.selectbox(
        "Language / 语言",
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        index=list(LANGUAGES).index(DEFAULT),
        key="lang",
        persist_state="session",
    )
    set_language(lang or DEFAULT)
    return language()


def simulated_banner(choice: Choice) -> None:
    if choice.synthetic:
        st.warning(simulated_warning(lambda s: f"**{s}**"), icon=":material/science:")
