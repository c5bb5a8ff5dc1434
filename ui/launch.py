"""Start the page: ``python -m ui.launch [streamlit run options]``.

The same as ``streamlit run app.py``, except that the heavy scientific modules
(scikit-learn, scikit-survival, pandas, plotly) are imported in a background thread while
the server starts, instead of when the first visitor arrives; the first curve then
appears about two seconds sooner (benchmarks/app.py).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def _preload() -> None:
    import sksurv.ensemble
    import sksurv.linear_model  # noqa: F401

    import model.candidacy
    import model.engine  # noqa: F401
    import reporting.figures
    import reporting.summary  # noqa: F401


def main() -> None:
    from streamlit.web import cli

    threading.Thread(target=_preload, name="preload", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
