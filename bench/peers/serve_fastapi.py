"""The scoring server `mlflow models serve` gives a scikit-learn model, rebuilt from
Debian's packages: FastAPI on uvicorn, pandas to read the payload, a fitted
scikit-learn pipeline (StandardScaler + OneHotEncoder, then an MLP) to predict. The peer
of `npm run bench -- serve`, loaded with wrk on loopback.

It takes MLflow's /invocations payloads (dataframe_split, dataframe_records,
instances, inputs) and answers a payload it cannot read with 400, as MLflow does.

usage: serve_fastapi.py TABLE --target COL [--task classification|regression]
       [--port 5001] [--hidden 64,64] [--drop a,b]
"""
import argparse

import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sklearn.compose import ColumnTransformer
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tables import csv_list, feature_columns, read_table


def fit(args):
    df = read_table(args.table).dropna(subset=[args.target])
    numeric, categorical = feature_columns(df, args.target, csv_list(args.drop))
    hidden = tuple(int(h) for h in csv_list(args.hidden))
    estimator = MLPClassifier if args.task == "classification" else MLPRegressor
    pipeline = make_pipeline(
        ColumnTransformer([
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]),
        estimator(hidden_layer_sizes=hidden, max_iter=5, random_state=0),
    )
    # A short fit on a sample: the benchmark measures serving, not training.
    sample = df.sample(min(len(df), 20000), random_state=0)
    features = numeric + categorical
    pipeline.fit(sample[features].fillna(0), sample[args.target])
    return pipeline, features


def payload_frame(body, features):
    """The rows of an MLflow /invocations body as a DataFrame."""
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns", features))
    if "dataframe_records" in body:
        return pd.DataFrame.from_records(body["dataframe_records"])
    rows = body["instances"] if "instances" in body else body.get("inputs")
    if isinstance(rows, dict):
        return pd.DataFrame(rows)
    if rows and isinstance(rows[0], dict):
        return pd.DataFrame.from_records(rows)
    return pd.DataFrame(rows, columns=features)


def main():
    parser = argparse.ArgumentParser(description="An MLflow-shaped scoring server for a scikit-learn model")
    parser.add_argument("table")
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", default="classification", choices=["classification", "regression"])
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--hidden", default="64,64")
    parser.add_argument("--drop", default="")
    args = parser.parse_args()
    pipeline, features = fit(args)
    app = FastAPI()

    @app.get("/ping")
    def ping():
        return {"status": "ok"}

    @app.post("/invocations")
    async def invocations(request: Request):
        try:
            predictions = pipeline.predict(payload_frame(await request.json(), features)[features])
        except Exception as error:  # a payload it cannot read: 400, as MLflow answers
            return JSONResponse({"error_code": "BAD_REQUEST", "message": str(error)}, status_code=400)
        return {"predictions": np.asarray(predictions).tolist()}

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
