"""A researcher's own schema, end to end (verbs, PDFs and the page), on real public data:
the Veterans' Administration lung cancer trial (days from randomisation, one stage, no
operation; data/public/); and a schema with another treatment, three stages and weeks.

Every verb (describe, fit, models, evaluate, predict, report, update), every page and every
PDF speaks the schema's unit and words; none of them says what only the DMPM schema may
(mesothelioma, CRS+HIPEC, PCI, Ki-67, surgery) or gives a time in months.
"""

import json
import re
import shutil

import pandas as pd
import pypdfium2 as pdfium
import pytest
import yaml
from typer.testing import CliRunner

from model.bundle import load_bundle
from model.engine import Engine
from model.registry import Registry
from model.schema import load_schema
from reporting.pdf import ReportContext, compare_report, patient_report
from reporting.plain import icon_labels, sentences
from reporting.summary import survival_table
from tests.conftest import ROOT
from training.cli import app

PUBLIC = ROOT / "data" / "public"
SCHEMA = PUBLIC / "veterans.yaml"
# words only the DMPM schema, its evidence file and the product's name may use
FORBIDDEN = re.compile(
    r"mesothelioma|peritone|CRS|HIPEC|\bPCI\b|Ki-?67|cytoreduct|surg|\b(?:pre|post)-?operative",
    re.IGNORECASE,
)
# the product's name is allowed (lower case, a proper noun)
PRODUCT = re.compile(r"hipec-prognosis")
# the schema's own months: a feature measured in months since diagnosis
OWN_MONTHS = re.compile(r"diagnosis|months_from_diagnosis", re.IGNORECASE)


def leaks(text: str) -> list[str]:
    """Lines that say a DMPM-only word, or a time in months (outside the schema's own
    months-since-diagnosis feature)."""
    bad = []
    for line in PRODUCT.sub("", text).splitlines():
        in_months = re.search(r"\bmonths?\b|\d m\b", line, re.IGNORECASE)  # "36 months", "36 m"
        if FORBIDDEN.search(line) or (in_months and not OWN_MONTHS.search(line)):
            bad.append(line.strip()[:200])
    return bad


def run(*args) -> str:
    """What a user sees: standard output and the warnings on standard error."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def run_json(*args):
    """A verb's --json document, read from standard output alone (as a pipe reads it)."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def pdf_text(blob: bytes) -> str:
    doc = pdfium.PdfDocument(blob)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Outputs of every verb on the public trial, and the registry it leaves."""
    root = tmp_path_factory.mktemp("veterans")
    models = root / "models"
    out = {"describe": run("describe", "--data", PUBLIC / "veterans.csv", "--schema", SCHEMA)}
    out["fit"] = run(
        "fit", "--data", PUBLIC / "veterans_dev.csv", "--schema", SCHEMA, "--out", models,
        "--bootstrap", "3", "--quiet", "--promote",
    )  # fmt: skip
    reg = Registry(models)
    bundle = reg.path(reg.active_id)
    out["models"] = run("models", "list", "--out", models)
    out["evaluate"] = run("evaluate", "--bundle", bundle, "--data", PUBLIC / "veterans_new.csv",
        "--bootstrap", "0")  # fmt: skip
    run(
        "predict",
        "--bundle",
        bundle,
        "--data",
        PUBLIC / "veterans_new.csv",
        "--out",
        root / "p.csv",
    )
    out["predict"] = (root / "p.csv").read_text().splitlines()[0]
    run("report", "--bundle", bundle, "--data", PUBLIC / "veterans_new.csv", "--out", root / "pdf")
    out["report pdf"] = pdf_text(sorted((root / "pdf").glob("*.pdf"))[0].read_bytes())
    out["update"] = run(
        "update", "--bundle", bundle, "--data", PUBLIC / "veterans_new.csv",
        "--method", "recalibrate", "--out", models, "--bootstrap", "3",
    )  # fmt: skip
    for b in sorted(p for p in models.iterdir() if p.name.startswith("veterans")):
        # the page's words, without the inline plotly library
        html = re.sub(r"<script.*?</script>", "", (b / "report.html").read_text(), flags=re.S)
        out[f"{b.name} report.html"] = html
        out[f"{b.name} report.json"] = json.dumps(
            json.loads((b / "report.json").read_text()), indent=1
        )
    return out, models, bundle


def test_every_verb_speaks_the_schemas_unit_and_words(trained):
    out, _, _ = trained
    found = {name: leaks(text) for name, text in out.items()}
    assert not {k: v for k, v in found.items() if v}, found
    assert "Deaths                         " in out["describe"]
    assert "Median overall survival (KM)   80.0 days" in out["describe"]  # KM median of the trial
    assert "Overall survival at 182 days" in out["describe"]
    header = out["predict"].split(",")
    assert {"surv_91", "surv_182_lower", "surv_365_upper", "median_survival_days"} <= set(header)
    assert "Survival at 3 months" not in out["report pdf"]
    report = json.loads(next(v for k, v in out.items() if k.endswith("report.json")))
    assert report["intended_use"].startswith("Demonstrates the tool on a public trial")


def test_the_pdfs_speak_days_from_randomisation(trained):
    _, _, bundle = trained
    b = load_bundle(bundle)
    engine = Engine(b)
    context = ReportContext(b, b.default_model, "0" * 64)
    patient = dict(b.manifest.reference_patient)
    p = engine.predict(engine.frame([patient]), contributions=True)[0]
    one = pdf_text(patient_report(context, patient, p, alive_at=3.0, figures="native"))
    assert "Individual overall survival estimate from randomisation" in one
    assert "Overall survival at 1 year (365 days)" in " ".join(one.split())
    assert "given alive at 91 days" in " ".join(one.split())
    assert "Days from randomisation" in one
    other = dict(patient, celltype="smallcell")
    named = list(zip(["A", "B"], engine.predict(engine.frame([patient, other])), strict=True))
    two = pdf_text(compare_report(context, [("A", patient), ("B", other)], named, "native"))
    assert not leaks(one) and not leaks(two), (leaks(one), leaks(two))


@pytest.fixture
def page(trained, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    _, models, _ = trained
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    monkeypatch.setenv("HIPEC_MODELS", str(copy))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


def page_text(at) -> str:
    """Everything a page shows as text: titles, words, tables, labels and figure specs."""
    parts = [
        e.value for kind in ("title", "subheader", "markdown", "caption") for e in at.get(kind)
    ]
    parts += [e.value for kind in ("info", "warning", "error") for e in at.get(kind)]
    parts += [t.value.to_csv() for t in at.table] + [d.value.to_csv() for d in at.dataframe]
    parts += [
        w.label
        for kind in ("text_input", "selectbox", "select_slider", "radio")
        for w in at.get(kind)
    ]
    parts += [w.help or "" for kind in ("text_input", "selectbox") for w in at.get(kind)]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        parts += [json.dumps(layout.get(k, {}).get("title", "")) for k in ("xaxis", "yaxis")]
        parts += [t.get("name", "") + "\n" + t.get("hovertemplate", "") for t in spec["data"]]
    return "\n".join(parts)


def test_every_page_speaks_the_schemas_unit_and_words(page):
    at = page
    assert not at.exception
    text = page_text(at)
    assert "Survival from randomisation" in [t.value for t in at.title]
    assert "Median overall survival (days)" in text and "Days from randomisation" in text
    assert "Known at randomisation" not in text  # one stage: no stage headings
    at.text_input(key="alive_at").input(str(30)).run()
    text += page_text(at)
    assert "who are alive 30 days from randomisation" in text
    for path in ("ui/pages/compare.py", "ui/pages/model_card.py", "ui/pages/cohort.py"):
        at.switch_page(path).run()
        assert not at.exception, path
        if path.endswith("cohort.py"):
            data = pd.read_csv(PUBLIC / "veterans_new.csv")
            at.file_uploader(key="cohort.file").set_value(
                ("cohort.csv", data.to_csv(index=False).encode(), "text/csv")
            ).run()
            assert not at.exception
        text += page_text(at)
    nav = [p.title for p in at.get("navigation")] if at.get("navigation") else []
    assert not any("Candidacy" in t for t in nav)
    assert not leaks(text), leaks(text)
    assert "Not for" in text and "Any patient decision" in text


def test_the_schema_declares_its_own_words():
    s = load_schema(SCHEMA)
    assert s.time_axis.unit == "days" and s.landmarks == (91.0, 182.0, 365.0)
    assert s.words.origin == "from randomisation" and [x.name for x in s.stages] == ["baseline"]


def test_another_endpoint_is_named_in_its_own_words(trained, tmp_path):
    _, _, bundle = trained
    doc = yaml.safe_load(SCHEMA.read_text())
    doc["words"].update(
        endpoint="recurrence-free survival",
        event="recurrence or death",
        events="recurrences or deaths",
        event_happened="had a recurrence or died",
        event_free="free of recurrence",
    )
    path = tmp_path / "rfs.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    text = run("describe", "--data", PUBLIC / "veterans.csv", "--schema", path)
    words = " ".join(text.split())  # the value column is as wide as the longest label
    assert "Recurrences or deaths 128 (93.4 %)" in words
    assert "Median recurrence-free survival (KM) 80.0 days" in words
    rfs = load_schema(path)
    b = load_bundle(bundle)
    p = Engine(b).predict(Engine(b).frame([b.manifest.reference_patient]))[0]
    table = survival_table(p, rfs)
    assert table["Outcome"].iloc[-1] == "Median recurrence-free survival (days)"
    # each landmark's row says which survival it is: not "Survival at", read as being alive
    assert table["Outcome"].iloc[0] == "Recurrence-free survival at 91 days"
    said = sentences(p, rfs)
    assert said[0].startswith("Of 100 patients like this, about ")
    assert " are free of recurrence 91 days from randomisation" in said[0]
    assert said[-1].endswith(".") and "(the median recurrence-free survival)" in said[-1]
    assert icon_labels(rfs.words)["died"] == "had a recurrence or died"


def test_the_figures_equal_independent_implementations(trained, tmp_path):
    """describe's Kaplan-Meier against lifelines, evaluate's Harrell C against scikit-survival,
    on the real trial in days."""
    from lifelines import KaplanMeierFitter
    from sksurv.metrics import concordance_index_censored

    from model.engine import predict_table
    from model.validation import validate_dataset

    data = pd.read_csv(PUBLIC / "veterans.csv")
    d = run_json("describe", "--data", PUBLIC / "veterans.csv", "--schema", SCHEMA, "--json")
    km = KaplanMeierFitter().fit(data["survival_days"], data["died"])
    assert d["km_median_days"] == pytest.approx(km.median_survival_time_)
    for t in (91, 182, 365):
        assert d[f"surv_{t}"] == pytest.approx(float(km.survival_function_at_times(t).iloc[0]))
    _, _, bundle = trained
    new = pd.read_csv(PUBLIC / "veterans_new.csv")
    r = run_json(
        "evaluate", "--bundle", bundle, "--data", PUBLIC / "veterans_new.csv", "--json",
        "--bootstrap", "0",
    )  # fmt: skip
    b = load_bundle(bundle)
    risk = predict_table(b, validate_dataset(new, b.schema, "predict").data)["risk_score"]
    c = concordance_index_censored(new["died"].astype(bool), new["survival_days"], risk)[0]
    assert r["models"][b.default_model]["harrell_c"] == pytest.approx(c, abs=1e-9)


@pytest.fixture(scope="module")
def other_treatment(tmp_path_factory):
    """A schema with operative outcomes of another treatment, three stages, time in weeks and
    another endpoint, over the shipped simulated columns renamed (so that no column, label or
    word of the DMPM schema is left); its registry, fitted and promoted."""
    root = tmp_path_factory.mktemp("other")
    doc = yaml.safe_load((ROOT / "model" / "schemas" / "dmpm.yaml").read_text())
    doc.pop("translations")  # the DMPM schema's own; this one renames every feature
    rename = {f["name"]: f"x{i}" for i, f in enumerate(doc["features"], start=1)}
    for i, f in enumerate(doc["features"], start=1):
        for key in ("category_labels", "level_labels", "value_labels"):
            f.pop(key, None)
        f.update(name=rename[f["name"]], label=f"Factor {i}", help="A factor.")
        f["stage"] = {"pre": "diagnosis", "post": "response"}[f["stage"]]
        if f["name"] == rename["rbc_units"]:
            f["stage"] = "follow_up"
        if f.get("unit") not in (None, "%", "years"):
            f["unit"] = "units"
    doc["interactions"] = [[rename[a], rename[b]] for a, b in doc["interactions"]]
    for o in doc["operative_outcomes"]:
        o.update(feature=rename[o["feature"]], label=f"a good outcome of {o['feature']}")
    doc["operative_outcomes"][0]["label"] = "a complete response"
    doc["operative_outcomes"][1]["label"] = "no serious toxicity"
    doc.update(
        name="rt_centre",
        title="A radiotherapy series",
        time={
            "name": "pfs_weeks",
            "label": "Progression-free survival",
            "unit": "weeks",
            "max": 5000,
        },
        event={"name": "progressed", "label": "Progression or death"},
        stages=[
            {"name": "diagnosis", "label": "at diagnosis"},
            {"name": "response", "label": "after radiotherapy"},
            {"name": "follow_up", "label": "at follow-up"},
        ],
        words={
            "origin": "from the start of radiotherapy",
            "endpoint": "progression-free survival",
            "event": "progression or death",
            "events": "progressions or deaths",
            "event_happened": "progressed or died",
            "event_free": "free of progression",
            "treatment": "radiotherapy",
        },
    )
    schema_path = root / "rt.yaml"
    schema_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    data = pd.read_csv(ROOT / "data" / "synthetic" / "dmpm_110.csv").rename(columns=rename)
    data["pfs_weeks"] = data.pop("os_months") * 365.25 / 12 / 7
    data["progressed"] = data.pop("death")
    data_path = root / "rt.csv"
    data.to_csv(data_path, index=False)
    models = root / "models"
    out = run(
        "fit", "--data", data_path, "--schema", schema_path, "--out", models,
        "--models", "coxnet", "--bootstrap", "3", "--quiet", "--promote",
    )  # fmt: skip
    return models, out


def test_candidacy_for_another_treatment_speaks_its_words(other_treatment, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from reporting.pdf import candidacy_report

    models, out = other_treatment
    assert not leaks(out)
    monkeypatch.setenv("HIPEC_MODELS", str(models))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    text = page_text(at)
    assert "Known at diagnosis" in text and "Known at follow-up" in text  # three stages, in order
    assert text.index("Known at diagnosis") < text.index("Known after radiotherapy")
    at.sidebar.segmented_control(key="mode").set_value("patient").run()
    text += page_text(at)
    at.switch_page("ui/pages/candidacy.py").run()
    assert not at.exception
    text += page_text(at)
    assert "Candidacy: at diagnosis" in [t.value for t in at.title]
    assert "Overall, if treated with radiotherapy" in text
    assert not leaks(text), leaks(text)
    b = Registry(models).load()
    engine = Engine(b)
    pre = {
        f.name: b.manifest.reference_patient[f.name] for f in b.schema.stage_features("diagnosis")
    }
    cand = engine.candidacy(engine.frame([pre]))
    context = ReportContext(b, "coxnet", "0" * 64)
    pdf = pdf_text(candidacy_report(context, pre, cand, figures="native"))
    assert "Candidacy for radiotherapy: progression-free survival estimate at diagnosis" in pdf
    assert "Weeks from the start of radiotherapy" in pdf
    assert not leaks(pdf), leaks(pdf)
