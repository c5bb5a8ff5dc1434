"""hipec-prognosis: the web page (``streamlit run app.py``).

Only ``app.py`` and ``ui/`` import Streamlit; they draw what ``model/`` computes.
"""

import streamlit as st

st.set_page_config(
    page_title="hipec-prognosis",
    page_icon=":material/monitoring:",
    layout="wide",
    menu_items={
        "About": "Prognostic survival calculator. Supports, never replaces, clinical judgement."
    },
)

from model.i18n import _  # noqa: E402
from ui.state import (  # noqa: E402 (after set_page_config)
    choose_language,
    offers_candidacy,
    page_style,
)

# first, so that everything below (the navigation too) is in the reader's language
choose_language()
page_style()
CANDIDACY = offers_candidacy()

PAGES = [
    st.Page(
        "ui/pages/calculator.py", title=_("Calculator"), icon=":material/calculate:", default=True
    ),
    # only for a schema that declares the outcomes of the operation a tumour board weighs
    *(
        [
            st.Page(
                "ui/pages/candidacy.py",
                title=_("Candidacy ({stage})").format(stage=CANDIDACY)
                if CANDIDACY
                else _("Candidacy"),
                icon=":material/stethoscope:",
            )
        ]
        if CANDIDACY != ""
        else []
    ),
    st.Page("ui/pages/compare.py", title=_("Compare scenarios"), icon=":material/compare_arrows:"),
    st.Page("ui/pages/cohort.py", title=_("Score a cohort"), icon=":material/groups:"),
    st.Page("ui/pages/model_card.py", title=_("Model card"), icon=":material/description:"),
]

st.navigation(PAGES).run()
st.sidebar.caption(
    _(
        "Supports and does not replace clinical judgement. Nothing entered on these pages is "
        "stored or logged."
    )
)
