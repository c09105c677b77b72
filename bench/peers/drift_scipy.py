"""Lathe's drift definitions, computed with SciPy one column at a time. The drift tests
hold the engine's numbers to this script's within 1e-6 relative, and `npm run bench --
drift` times it as the peer a practitioner would otherwise run.

Nulls are dropped from both sides before anything is computed.

Numeric columns
  ks_statistic, ks_pvalue   scipy.stats.ks_2samp(reference, current) (method "auto").
  wasserstein_normed        scipy.stats.wasserstein_distance(reference, current) over the
                            reference's population standard deviation (ddof 0), or over 1
                            when that is 0.
  psi                       edges: the distinct values of the reference's 0.0, 0.1, ..., 1.0
                            quantiles (linear interpolation), outermost edges replaced by
                            -inf and +inf; each value falls in [edge_i, edge_i+1); shares of
                            each side per bin, floored at 1e-4;
                            psi = sum((current - reference) * ln(current / reference)).
Categorical columns (values compared as text)
  chi2_statistic, chi2_pvalue  categories: the union of both sides; expected counts: the
                            reference's shares floored at 1e-4, renormalized to sum 1 and
                            scaled to the current side's count; scipy.stats.chisquare with
                            k - 1 degrees of freedom.
  jensenshannon             scipy.spatial.distance.jensenshannon of the two sides' shares
                            over the union, base 2 (the distance, not the divergence).

usage: drift_scipy.py REFERENCE CURRENT [--columns a,b]
prints {"peer": "scipy", "reference_rows", "current_rows", "load_seconds",
        "drift_seconds", "columns": {name: {...}}}
"""
import argparse

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, ks_2samp, wasserstein_distance

from tables import csv_list, emit, read_table, stopwatch

FLOOR = 1e-4
DECILES = np.linspace(0.0, 1.0, 11)


def bin_shares(values, edges):
    """Share of values per bin [edges[i], edges[i+1]); edges run from -inf to +inf."""
    index = np.searchsorted(edges, values, side="right") - 1
    counts = np.bincount(index, minlength=len(edges) - 1)
    return np.maximum(counts / len(values), FLOOR)


def numeric_drift(reference, current):
    ref = reference.dropna().to_numpy(dtype=np.float64)
    cur = current.dropna().to_numpy(dtype=np.float64)
    ks = ks_2samp(ref, cur)
    spread = ref.std(ddof=0)
    edges = np.unique(np.quantile(ref, DECILES))
    edges[0], edges[-1] = -np.inf, np.inf
    r, c = bin_shares(ref, edges), bin_shares(cur, edges)
    return {
        "kind": "numeric",
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein_normed": float(wasserstein_distance(ref, cur) / (spread if spread != 0 else 1.0)),
        "psi": float(np.sum((c - r) * np.log(c / r))),
    }


def categorical_drift(reference, current):
    ref = reference.dropna().astype(str).value_counts()
    cur = current.dropna().astype(str).value_counts()
    categories = sorted(set(ref.index) | set(cur.index))
    r = ref.reindex(categories, fill_value=0).to_numpy(dtype=np.float64)
    c = cur.reindex(categories, fill_value=0).to_numpy(dtype=np.float64)
    expected = np.maximum(r / r.sum(), FLOOR)
    expected = expected / expected.sum() * c.sum()
    chi = chisquare(c, expected)
    return {
        "kind": "categorical",
        "chi2_statistic": float(chi.statistic),
        "chi2_pvalue": float(chi.pvalue),
        "jensenshannon": float(jensenshannon(r / r.sum(), c / c.sum(), base=2)),
    }


def main():
    parser = argparse.ArgumentParser(description="Drift statistics per column, with SciPy")
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("--columns", default="", help="comma-separated; default: the columns both sides have")
    args = parser.parse_args()
    figures = {"peer": "scipy"}
    with stopwatch(figures, "load_seconds"):
        reference, current = read_table(args.reference), read_table(args.current)
    columns = csv_list(args.columns) or [c for c in reference.columns if c in current.columns]
    out = {}
    with stopwatch(figures, "drift_seconds"):
        for name in columns:
            numeric = pd.api.types.is_numeric_dtype(reference[name])
            out[name] = (numeric_drift if numeric else categorical_drift)(reference[name], current[name])
    figures.update(reference_rows=len(reference), current_rows=len(current), columns=out)
    emit(figures)


if __name__ == "__main__":
    main()
