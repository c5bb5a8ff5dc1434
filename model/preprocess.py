"""Transformers that turn schema features into model inputs.

They live in ``model/`` (not ``training/``) because fitted pipelines are loaded
at run time, and unpickling needs these classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.validation import check_is_fitted

from model.schema import NUMERIC_KINDS, Schema

__all__ = ["SchemaEncoder", "SplineInteractionExpander", "encoded_columns"]


class SchemaEncoder(TransformerMixin, BaseEstimator):
    """Encode schema features as numbers.

    Binary features stay 0/1; categorical and ordinal features become indicator
    columns against their first level (``pathology=biphasic``, ``cc=2``, ...);
    features with ``transform: log1p`` are log-transformed. A missing value stays
    missing in every column it maps to, so the imputer that follows fills it from
    the patient's other features rather than from a fixed default.

    Parameters
    ----------
    schema : dict
        :meth:`model.schema.Schema.to_dict` output (a plain dict pickles stably).
    """

    def __init__(self, schema: dict):
        self.schema = schema

    def fit(self, X: pd.DataFrame, y=None):
        sch = Schema.from_dict(self.schema)
        self._check_columns(X, sch)
        names = [c for f in sch.features for c in encoded_columns(f)]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.feature_names_in_ = np.asarray(sch.feature_names, dtype=object)
        self.n_features_in_ = len(sch.features)
        return self

    @staticmethod
    def _check_columns(X, sch: Schema) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("SchemaEncoder needs a DataFrame with the schema's feature columns")
        missing = [c for c in sch.feature_names if c not in X.columns]
        if missing:
            raise ValueError(f"missing feature columns: {', '.join(missing)}")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_out_")
        sch = self._parsed()
        self._check_columns(X, sch)
        # on arrays, not Series: the page encodes one patient per prediction, and pandas'
        # per-operation overhead was most of the 4 ms this took
        cols = {}
        for f in sch.features:
            s = X[f.name]
            if f.kind in ("categorical", "ordinal"):
                values = s.to_numpy(dtype=object, copy=True)
                missing = pd.isna(values)
                values[missing] = None  # pd.NA cannot be compared with a level
                for lv in f.allowed_values[1:]:
                    v = (values == lv).astype(float)
                    v[missing] = np.nan
                    cols[f"{f.name}={lv}"] = v
            else:
                s = s if is_numeric_dtype(s.dtype) else pd.to_numeric(s, errors="raise")
                v = s.to_numpy(dtype=float, na_value=np.nan)
                cols[f.name] = np.log1p(v) if f.transform == "log1p" else v
        out = pd.DataFrame(cols, index=X.index)
        names = list(self.feature_names_out_)
        return out if list(out.columns) == names else out[names]

    def _parsed(self) -> Schema:
        """The schema, parsed once per loaded encoder (not pickled: :meth:`__getstate__`)."""
        cached = self.__dict__.get("_schema_parsed")
        if cached is None or cached[0] is not self.schema:
            cached = (self.schema, Schema.from_dict(self.schema))
            self.__dict__["_schema_parsed"] = cached
        return cached[1]

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the live encoder keeps its cache
        state.pop("_schema_parsed", None)  # a bundle's bytes do not depend on what was predicted
        return state

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    def discrete_groups(self) -> list[list[str]]:
        """The encoded columns of each binary, categorical and ordinal feature: its one
        column, or the indicators of its levels."""
        sch = Schema.from_dict(self.schema)
        groups = [encoded_columns(f) for f in sch.features if f.kind not in NUMERIC_KINDS]
        return [g for g in groups if g]  # a category with one level has no indicator


def encoded_columns(f) -> list[str]:
    """A feature's encoded columns: indicators of its levels after the first, or itself."""
    if f.kind in ("categorical", "ordinal"):
        return [f"{f.name}={lv}" for lv in f.allowed_values[1:]]
    return [f.name]


def column_sources(schema: Schema, columns) -> list[tuple[str, ...]]:
    """The schema feature(s) each column of a Cox design comes from: its own name or a
    level's indicator (``cc=2``), with a basis suffix (``:s0``, ``:h1``), or a product of
    two such (``cc=2*age:s0``). Matched against the schema's encoded columns, so names and
    levels holding ``*``, ``=`` or ``:`` are read right.

    Raises
    ------
    ValueError
        A column that comes from no schema feature (the encoder and expander name every
        column they make).
    """
    owners = {c: f.name for f in schema.features for c in encoded_columns(f)}

    def owner(part: str) -> str | None:
        if part in owners:
            return owners[part]
        stem, _, suffix = part.rpartition(":")
        return owners.get(stem) if suffix[:1] in ("s", "h") and suffix[1:].isdigit() else None

    out = []
    for col in columns:
        if (one := owner(col)) is not None:
            out.append((one,))
            continue
        stars = [k for k, ch in enumerate(col) if ch == "*"]
        pairs = [(owner(col[:k]), owner(col[k + 1 :])) for k in stars]
        pair = next((p for p in pairs if None not in p), None)
        if pair is None:
            raise ValueError(f"column {col!r} of the Cox design comes from no schema feature")
        out.append(pair)
    return out


def _feature_columns(columns, name: str) -> list[str]:
    """The encoded columns a feature became: itself, or its level indicators (``name=level``)."""
    if name in columns:
        return [name]
    out = [c for c in columns if c.startswith(f"{name}=")]
    if not out:
        raise ValueError(f"interaction feature {name!r} is not among the encoded columns")
    return out


def _quantile_knots(x: np.ndarray, n_knots: int) -> np.ndarray | None:
    """Knots at evenly spaced quantiles, duplicates removed; None where fewer than three
    distinct ones remain (too few values to bend: the column stays linear)."""
    knots = np.unique(np.quantile(x, np.linspace(0, 1, n_knots), method="inverted_cdf"))
    return knots if len(knots) >= 3 else None


class SplineInteractionExpander(TransformerMixin, BaseEstimator):
    """Piecewise-linear bases for numeric columns, plus tensor-product interactions.

    Each column in ``spline_columns`` with enough distinct values is replaced by a
    piecewise-linear basis with knots at quantiles of the training data, so a linear
    model can bend (a threshold in Ki-67, a plateau in PCI). Each pair in
    ``interactions`` adds the products of the two bases, letting the effect of one
    depend on the level of the other; a binary feature's basis is its 0/1 column, a
    categorical or ordinal one's the indicators of its levels (``cc=2``: an age effect of
    its own for each level against the first). A penalised Cox model shrinks the terms the
    data do not support.

    Two parameterisations of the same function space:

    * ``basis="ramp"`` (default): one ramp per pair of neighbouring knots, 0 below the
      pair, rising linearly to 1 between them and 1 above (the first ramp extrapolates
      linearly below the lowest knot, the last one above the highest). A coefficient is
      the change of the effect across one knot interval, so a lasso-type penalty on
      them penalises the total variation of the fitted function and favours effects
      that change in few places (thresholds, plateaus); a product of two ramps is a
      change of one feature's effect across one knot interval of the other. This is the
      first-order version of the highly adaptive lasso's basis (Benkeser & van der Laan
      2016) restricted to the declared features and pairs.
    * ``basis="hat"``: linear B-splines (scikit-learn ``SplineTransformer``); a penalty
      on their coefficients shrinks the function towards zero knot by knot.

    ``hinge_columns`` are bent another way: each keeps its own linear column and gains one
    hinge ``max(0, x - k)`` per interior knot, so the penalty shrinks the bends towards a
    straight line rather than the whole effect towards zero. That suits a feature nobody
    declared non-linear: it stays linear unless the data pay for a bend. Error of S(36) at
    each design's best penalty (benchmarks/hinge_design.py): below ramps on the same features
    in all four worlds at n = 110, 500 and 2,000; in the independent world's U-shaped age
    effect 0.065 and 0.021 at 500 and 2,000 against 0.073 and 0.025 for ramps and 0.069 and
    0.033 for main effects.

    Measured on the shipped 2,000-patient cohort (one-off runs on benchmarks/accuracy.py's 5,000
    test patients): ramps with 4 interaction knots gave a mean absolute error
    of S(36) of 0.039 with complete inputs against 0.042 for hats with 3 (both with
    Ki-67 on the log scale); more interaction knots (5, 7) or fewer main knots (5) did
    not help.

    Parameters
    ----------
    spline_columns : sequence of str
    interactions : sequence of (str, str)
    n_knots : int
        Knots per column for its own effect (at evenly spaced quantiles, duplicates removed).
    interaction_knots : int
        Knots per column inside interaction products; fewer, because the number of
        product terms grows with their square.
    basis : {"ramp", "hat"}
    hinge_columns : sequence of str
        Columns kept linear with a hinge at each of their ``n_knots - 2`` interior knots.
    discrete : sequence of str
        Binary, categorical and ordinal features: in a product with one of them a numeric
        feature's basis is centred at its training mean (the level's indicator then is its
        effect at a typical value, not at the lowest knot). Not what ``fit`` builds: over
        two worlds, n = 110, 500 and 2,000 and 1-4 draws each, the centred products' error
        of S(36) was as large or larger in every cell (110: 0.118 against 0.112 in a world
        with a CC x age interaction, 0.151 against 0.141 in one without; 500: 0.079 against
        0.077 and 0.071 against 0.067; benchmarks/discrete_interactions.py).
    """

    hinge_columns = ()  # what expanders pickled before hinges existed read
    discrete = ()  # and before discrete features could interact

    def __init__(
        self,
        spline_columns=(),
        interactions=(),
        n_knots: int = 7,
        interaction_knots: int = 4,
        basis: str = "ramp",
        hinge_columns=(),
        discrete=(),
    ):
        self.spline_columns = spline_columns
        self.interactions = interactions
        self.n_knots = n_knots
        self.interaction_knots = interaction_knots
        self.basis = basis
        self.hinge_columns = hinge_columns
        self.discrete = discrete

    def fit(self, X: pd.DataFrame, y=None):
        if not isinstance(X, pd.DataFrame):
            raise TypeError("SplineInteractionExpander needs a DataFrame (use set_output)")
        if self.basis not in ("ramp", "hat"):
            raise ValueError(f"basis must be 'ramp' or 'hat' (got {self.basis!r})")
        self.splines_ = self._fit_splines(X, self.spline_columns, self.n_knots)
        self.hinges_ = self._fit_hinges(
            X, [c for c in self.hinge_columns if c not in self.splines_]
        )
        paired = sorted({c for pair in self.interactions for c in pair})
        self.interaction_columns_ = {c: _feature_columns(X.columns, c) for c in paired}
        numeric = [c for c in paired if c in X.columns]  # a discrete feature enters as indicators
        self.interaction_splines_ = self._fit_splines(X, numeric, self.interaction_knots)
        self.interaction_centres_ = {}
        A, col = X.to_numpy(dtype=float), {c: i for i, c in enumerate(X.columns)}
        inter = {c: self._basis(f, A[:, col[c]]) for c, f in self.interaction_splines_.items()}
        for pair in self.interactions:
            for c, partner in (pair, pair[::-1]):
                if partner in self.discrete and c not in self.discrete:
                    self.interaction_centres_[c] = self._interaction_side(c, A, col, inter)[0].mean(
                        axis=0
                    )
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.feature_names_out_ = np.asarray(self._transform(X.iloc[:1]).columns, dtype=object)
        return self

    def _fit_splines(self, X: pd.DataFrame, columns, n_knots: int) -> dict:
        out = {}
        for c in columns:
            x = X[[c]].to_numpy(dtype=float)
            knots = _quantile_knots(x, n_knots)
            if knots is None:
                continue
            if getattr(self, "basis", "hat") == "ramp":
                out[c] = knots
                continue
            st = SplineTransformer(
                knots=knots.reshape(-1, 1), degree=1, extrapolation="linear", include_bias=False
            )
            out[c] = st.fit(x)
        return out

    def _fit_hinges(self, X: pd.DataFrame, columns) -> dict:
        """The splines' knots inside the column's range (a hinge at an end bends nothing)."""
        knots = {c: _quantile_knots(X[c].to_numpy(dtype=float), self.n_knots) for c in columns}
        return {c: k[1:-1] for c, k in knots.items() if k is not None}

    @staticmethod
    def _ramps(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
        """One ramp per knot interval; linear extrapolation outside the outer knots."""
        lo, hi = knots[:-1], knots[1:]
        r = (x[:, None] - lo[None, :]) / (hi - lo)[None, :]
        floor = np.zeros(len(lo))
        floor[0] = -np.inf
        ceil = np.ones(len(lo))
        ceil[-1] = np.inf
        return np.clip(r, floor, ceil)

    def _basis(self, fitted, x: np.ndarray) -> np.ndarray:
        if isinstance(fitted, np.ndarray):
            return self._ramps(x, fitted)
        return fitted.transform(x[:, None])

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        # numpy throughout: sklearn's per-call DataFrame checks would dominate one-patient latency
        A = X.to_numpy(dtype=float)
        col = {c: i for i, c in enumerate(X.columns)}
        bases = {c: self._basis(f, A[:, col[c]]) for c, f in self.splines_.items()}
        inter = {c: self._basis(f, A[:, col[c]]) for c, f in self.interaction_splines_.items()}

        def basis(c):
            return bases[c] if c in bases else A[:, [col[c]]]

        hinges = getattr(self, "hinges_", {})  # bundles fitted before hinges existed
        blocks, names = [], []
        for c in X.columns:
            b = basis(c)
            blocks.append(b)
            names += [f"{c}:s{i}" for i in range(b.shape[1])] if c in bases else [c]
            if c in hinges:
                blocks.append(np.maximum(0.0, A[:, [col[c]]] - hinges[c][None, :]))
                names += [f"{c}:h{i}" for i in range(len(hinges[c]))]
        centres = getattr(self, "interaction_centres_", {})
        for a, b in self.interactions:
            ba, na = self._interaction_side(a, A, col, inter)
            bb, nb = self._interaction_side(b, A, col, inter)
            if b in self.discrete and a in centres:
                ba = ba - centres[a]
            if a in self.discrete and b in centres:
                bb = bb - centres[b]
            blocks.append((ba[:, :, None] * bb[:, None, :]).reshape(len(A), -1))
            names += [f"{x}*{y}" for x in na for y in nb]
        return pd.DataFrame(np.hstack(blocks), columns=names, index=X.index)

    def _interaction_side(self, c: str, A: np.ndarray, col: dict, inter: dict):
        """One feature's factor in its interaction products, and the names of its columns:
        a numeric feature's spline basis (or its line), a binary one's 0/1 column, a
        categorical or ordinal one's level indicators (``cc=2``)."""
        if c in inter:
            return inter[c], [f"{c}:s{i}" for i in range(inter[c].shape[1])]
        # expanders pickled before discrete features could interact hold numeric pairs only
        columns = getattr(self, "interaction_columns_", {}).get(c, [c])
        if columns == [c]:
            return A[:, [col[c]]], [f"{c}:s0"]
        return A[:, [col[x] for x in columns]], list(columns)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "splines_")
        return self._transform(X)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_
