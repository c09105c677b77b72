"""What every peer script shares: reading a table and printing the one JSON line
that the benchmarks and tests parse (always the last line of stdout)."""
import json
import sys
import time
from contextlib import contextmanager

import pandas as pd


def read_table(path):
    """A .csv, a .json array of records, or a .parquet file, chosen by extension."""
    lower = path.lower()
    if lower.endswith(".parquet"):
        return pd.read_parquet(path)
    if lower.endswith(".json"):
        return pd.read_json(path)
    return pd.read_csv(path)


def feature_columns(df, target, drop=()):
    """(numeric, categorical) column names, without the target and the dropped ones."""
    features = [c for c in df.columns if c != target and c not in set(drop)]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
    return numeric, [c for c in features if c not in numeric]


def csv_list(text):
    return [part for part in (text or "").split(",") if part]


@contextmanager
def stopwatch(into, key):
    """Adds the seconds the block took to into[key]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start


def emit(figures):
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()
