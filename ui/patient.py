"""The calculator read by the patient: the same figures in plain words and pictures of 100
people, in larger type, without tables, ratios or jargon, and a patient version of the PDF."""

from __future__ import annotations

import streamlit as st

from model.i18n import _
from model.prognosis import Prognosis
from reporting.figures import prognosis_curve
from reporting.pdf import patient_leaflet
from reporting.plain import patient_notes, sentences
from ui import common
from ui.state import Choice

__all__ = ["view"]


def view(
    choice: Choice, prog: Prognosis, shown: Prognosis, alive_at: float, warnings: list[str]
) -> None:
    """The patient's view of one prediction (``shown``: conditional on ``alive_at`` if set;
    ``warnings``: inputs outside the training data, said again in plain words)."""
    schema = choice.schema
    st.subheader(_("What the numbers say"))
    st.markdown("\n".join(f"- {s}" for s in sentences(shown, schema, alive_at, for_patient=True)))
    st.subheader(_("100 patients like you"))
    common.icon_array(shown, schema, alive_at, key="patient.icons", for_patient=True)
    st.subheader(_("What these numbers mean"))
    rows = choice.bundle.manifest.fitted_on
    notes = patient_notes(schema, shown, prog.unknown, warnings, trained_on=rows)
    st.markdown("\n".join(f"- {s}" for s in notes))
    with st.expander(_("The same numbers as a curve")):
        common.curve(
            [prognosis_curve(_("Patients like you"), shown)],
            schema,
            key="patient.curve",
            alive_at=alive_at or None,
        )
    common.pdf_download(
        _("Download the patient's version (PDF)"),
        lambda: patient_leaflet(choice, prog, warnings, alive_at=alive_at),
        file_name="hipec-prognosis-for-the-patient.pdf",
        key="patient.pdf",
    )
