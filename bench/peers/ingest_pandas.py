"""pandas, the peer for importing and profiling a table: read it, then describe every
column (count, mean, std, min, max, quartiles, top values) and count nulls and
distinct values.

usage: ingest_pandas.py TABLE
prints {"peer": "pandas", "rows", "columns", "read_seconds", "profile_seconds", ...}
"""
import argparse

from tables import emit, read_table, stopwatch


def main():
    parser = argparse.ArgumentParser(description="Read and profile a table with pandas")
    parser.add_argument("table")
    args = parser.parse_args()
    figures = {"peer": "pandas"}
    with stopwatch(figures, "read_seconds"):
        df = read_table(args.table)
    with stopwatch(figures, "profile_seconds"):
        described = df.describe(include="all")
        nulls = int(df.isna().sum().sum())
        distinct = int(df.nunique().sum())
    figures.update(rows=len(df), columns=len(df.columns), described=int(described.shape[1]),
                   nulls=nulls, distinct_total=distinct)
    emit(figures)


if __name__ == "__main__":
    main()
