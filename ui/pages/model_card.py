"""Model card: intended use, training data, metrics with intervals, calibration, limits."""

import pandas as pd
import streamlit as st

from reporting import card, wording
from reporting.evidence import PLAUSIBILITY_NOTE, plausibility_table
from reporting.figures import calibration_figure
from ui.common import PLOT_CONFIG
from ui.state import choose_model, group_predictions, simulated_banner, validation_report

choice = choose_model()
st.title("Model card")
if choice is not None:
    simulated_banner(choice)
    bundle, model = choice.bundle, choice.model
    report = validation_report(choice)
    m = bundle.manifest
    st.markdown(f"**{choice.schema.title}** · {choice.model_label}")
    st.table(
        pd.DataFrame(
            {
                "": [
                    "Bundle version",
                    "Created",
                    "Manifest SHA-256",
                    "Model",
                    "Default model of the bundle",
                    "Tuned parameters",
                ],
                "Value": [
                    choice.version_id,
                    m.created,
                    choice.manifest_sha256,
                    choice.model_label,
                    m.label(bundle.default_model),
                    ", ".join(
                        f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                        for k, v in m.models[model].params.items()
                    ),
                ],
            }
        ).set_index("")
    )
    st.subheader("Intended use")
    st.write(report.get("intended_use") or "Not recorded in this bundle.")
    words = choice.schema.words
    st.markdown(f"**Intended users.** {words.intended_users}")
    st.markdown("**Not for:**\n" + "\n".join(f"- {x}" for x in wording.not_for(words)))

    st.subheader("Training data")
    st.write(card.training_text(bundle))
    d = m.training_data
    st.caption(f"File SHA-256: {d.sha256} · modified {d.file_modified}")
    if report.get("missing_data"):
        with st.expander("Missing values in the training data"):
            st.dataframe(pd.DataFrame(report["missing_data"]), hide_index=True)
            st.caption(report.get("missing_data_handling", ""))

    st.subheader("Performance (internal validation)")
    st.write(card.c_index_text(bundle, model) + ".")
    metrics = card.metrics_table(report, model, choice.schema.time_axis)
    if len(metrics):
        st.table(metrics.set_index("Metric"))
    st.caption(
        "Apparent: on the training data. Optimism-corrected: apparent minus the average "
        "optimism over bootstrap refits (Harrell). Out-of-bag: each patient scored only by refits "
        "that did not see them. External validation needs independent data "
        "(`python -m training evaluate`)."
    )
    cal = (report.get("calibration") or {}).get(model)
    if cal:
        st.subheader("Calibration")
        axis = choice.schema.time_axis
        horizons = [m.name for m in axis.marks if m.name in cal]
        for tab, h in zip(st.tabs([f"{h} {axis.unit}" for h in horizons]), horizons, strict=True):
            with tab:
                st.plotly_chart(
                    calibration_figure({choice.model_label: cal}, h, axis.unit),
                    key=f"card.cal.{h}",
                    config=PLOT_CONFIG,
                )
                c = cal[h]
                st.dataframe(
                    pd.DataFrame(c["groups"]).rename(
                        columns={"n": "patients", "predicted": "mean predicted"}
                    ),
                    hide_index=True,
                    key=f"card.cal.{h}.table",
                )
                st.caption(
                    f"Calibration slope {c['slope']:.2f} (1 is ideal), calibration-in-the-large "
                    f"{c['in_the_large']:+.3f}; out-of-bag predictions against Kaplan-Meier."
                )
    beside = plausibility_table(group_predictions(choice, model), choice.schema)
    if len(beside):
        st.subheader("Beside published series")
        st.caption(PLAUSIBILITY_NOTE)
        st.table(beside.set_index("Published system"))
    st.subheader("Inputs")
    st.dataframe(card.feature_table(choice.schema), hide_index=True, key="card.features")
    st.subheader("Limitations")
    st.markdown("\n".join(f"- {x}" for x in report.get("limitations", [])) or "Not recorded.")
    with st.expander("Files and their SHA-256"):
        st.dataframe(
            pd.DataFrame(
                [{"file": k, "sha256": v} for k, v in m.files.items()]
                + [{"file": "manifest.json", "sha256": choice.manifest_sha256}]
            ),
            hide_index=True,
        )
        st.caption("Libraries: " + ", ".join(f"{k} {v}" for k, v in m.libraries.items()))
