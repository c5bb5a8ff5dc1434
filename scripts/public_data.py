"""Write the public example data set: the Veterans' Administration lung cancer trial.

Kalbfleisch & Prentice, The Statistical Analysis of Failure Time Data (1980): 137 men with
advanced inoperable lung cancer randomised to standard or test chemotherapy, survival in
days from randomisation. scikit-survival ships it (``load_veterans_lung_cancer``); this
script renames its columns to the schema in ``data/public/veterans.yaml`` and writes the
whole trial plus a seeded split into a development set and a "new centre" set, which the
README's walk-through trains on, validates on and updates with.

    .venv/bin/python scripts/public_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sksurv.datasets import load_veterans_lung_cancer

OUT = Path(__file__).resolve().parent.parent / "data" / "public"
SEED = 20261129
NEW_SHARE = 0.4


def veterans() -> pd.DataFrame:
    X, y = load_veterans_lung_cancer()
    return pd.DataFrame(
        {
            "patient_id": [f"V{i + 1:03d}" for i in range(len(X))],
            "age": X["Age_in_years"].astype(int),
            "celltype": X["Celltype"].astype(str),
            "karnofsky": X["Karnofsky_score"].astype(int),
            "months_from_diagnosis": X["Months_from_Diagnosis"].astype(int),
            "prior_therapy": (X["Prior_therapy"].astype(str) == "yes").astype(int),
            "treatment": X["Treatment"].astype(str),
            "survival_days": y["Survival_in_days"].astype(int),
            "died": y["Status"].astype(int),
        }
    )


def main() -> None:
    df = veterans()
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / "veterans.csv", index=False)
    new = np.random.default_rng(SEED).random(len(df)) < NEW_SHARE
    df[~new].to_csv(OUT / "veterans_dev.csv", index=False)
    df[new].to_csv(OUT / "veterans_new.csv", index=False)
    print(f"wrote {len(df)} patients ({(~new).sum()} development, {new.sum()} new) to {OUT}")


if __name__ == "__main__":
    main()
