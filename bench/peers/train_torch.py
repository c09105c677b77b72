"""PyTorch on the CPU, the peer for training: the MLP Lathe trains (ReLU hidden layers,
Adam, cross-entropy or mean squared error), on the same table with the same
preprocessing (numeric columns standardized with the training split's mean and sample
standard deviation, missing values set to that mean; categorical columns one-hot over
the training split's values), on a seeded 80/20 split of its own.

usage: train_torch.py TABLE --target COL [--task classification|regression]
       [--hidden 64,64] [--epochs 5] [--batch 256] [--lr 0.001] [--threads 2] [--drop a,b]
prints {"peer": "torch", "rows", "features", "prep_seconds", "epoch_seconds_median",
        "accuracy" | "rmse"}
"""
import argparse
import time

import numpy as np
import torch

from tables import csv_list, emit, feature_columns, read_table, stopwatch


class Encoder:
    """Standardize + one-hot, fitted on the training split and applied to both."""

    def __init__(self, train, numeric, categorical):
        self.numeric, self.categorical = numeric, categorical
        self.mean = {c: float(train[c].mean()) for c in numeric}
        self.scale = {c: float(train[c].std() or 1.0) for c in numeric}
        self.values = {c: sorted(train[c].dropna().astype(str).unique()) for c in categorical}

    def matrix(self, df):
        blocks = []
        for c in self.numeric:
            column = df[c].astype("float64").fillna(self.mean[c])
            blocks.append(((column - self.mean[c]) / self.scale[c]).to_numpy()[:, None])
        for c in self.categorical:
            text = df[c].astype(str).to_numpy()
            blocks.append(np.stack([text == v for v in self.values[c]], axis=1).astype("float64"))
        return np.concatenate(blocks, axis=1).astype("float32")


def mlp(inputs, hidden, outputs):
    layers = []
    for width in hidden:
        layers += [torch.nn.Linear(inputs, width), torch.nn.ReLU()]
        inputs = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(inputs, outputs))


def main():
    parser = argparse.ArgumentParser(description="Train an MLP with PyTorch on the CPU")
    parser.add_argument("table")
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", default="classification", choices=["classification", "regression"])
    parser.add_argument("--hidden", default="64,64")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drop", default="")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    df = read_table(args.table).dropna(subset=[args.target])
    numeric, categorical = feature_columns(df, args.target, csv_list(args.drop))
    held_out = np.random.default_rng(0).random(len(df)) < 0.2
    train, test = df[~held_out].reset_index(drop=True), df[held_out].reset_index(drop=True)

    figures = {"peer": "torch"}
    with stopwatch(figures, "prep_seconds"):
        encoder = Encoder(train, numeric, categorical)
        x_train, x_test = encoder.matrix(train), encoder.matrix(test)

    if args.task == "classification":
        classes = sorted(train[args.target].astype(str).unique())
        index = {name: i for i, name in enumerate(classes)}
        y_train = torch.tensor([index[v] for v in train[args.target].astype(str)])
        y_test = np.array([index.get(v, -1) for v in test[args.target].astype(str)])
        outputs, loss_of = len(classes), torch.nn.CrossEntropyLoss()
    else:
        y_train = torch.tensor(train[args.target].to_numpy(dtype="float32"))[:, None]
        y_test = test[args.target].to_numpy(dtype="float32")
        outputs, loss_of = 1, torch.nn.MSELoss()

    model = mlp(x_train.shape[1], [int(h) for h in csv_list(args.hidden)], outputs)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    x = torch.from_numpy(x_train)
    epochs = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for first in range(0, len(x), args.batch):
            rows = order[first:first + args.batch]
            optimizer.zero_grad()
            loss_of(model(x[rows]), y_train[rows]).backward()
            optimizer.step()
        epochs.append(time.perf_counter() - start)

    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test)).numpy()
    if args.task == "classification":
        figures["accuracy"] = float((predicted.argmax(axis=1) == y_test).mean())
    else:
        figures["rmse"] = float(np.sqrt(np.mean((predicted[:, 0] - y_test) ** 2)))
    figures.update(rows=len(train), features=int(x_train.shape[1]), epoch_seconds_median=float(np.median(epochs)))
    emit(figures)


if __name__ == "__main__":
    main()
