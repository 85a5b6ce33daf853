"""The course task: sklearn's bundled 8x8 handwritten digits, split once and standardised.

``load_digits`` ships inside scikit-learn (1797 images, 64 pixels, 10 classes), so the
course needs no download. The split is fixed (stratified, 1440 train / 357 validation,
``random_state=0``) and every pixel is standardised with the TRAIN mean and std, so no
validation statistic leaks into training.

The data are read straight from scikit-learn's bundled ``digits.csv.gz``, and the split
from ``digits_split.json`` beside this module: importing scikit-learn costs over a second,
a large share of a notebook's run time. ``tests/test_data.py`` checks both against
``load_digits`` and ``train_test_split``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["Task", "digits_task", "digits_data", "N_VAL", "SPLIT_FILE"]

N_VAL = 357  # 1797 - 357 = 1440 training images: 22.5 batches of 64
_DTYPES = (torch.float32, torch.float64)
SPLIT_FILE = Path(__file__).with_name("digits_split.json")


@dataclass(frozen=True)
class Task:
    """A classification task: standardised inputs and integer labels, as torch tensors."""

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        return self.X_train.dtype

    def to(self, dtype: torch.dtype) -> Task:
        """The same task with its inputs in ``dtype`` (float32 or float64)."""
        _check_dtype(dtype)
        return Task(
            self.name,
            self.X_train.to(dtype),
            self.y_train,
            self.X_val.to(dtype),
            self.y_val,
            self.n_classes,
        )


def _check_dtype(dtype: torch.dtype) -> None:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")


def digits_data() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The 1797 images (pixels 0..16) and labels, as ``load_digits(return_X_y=True)`` gives them."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the digits task needs scikit-learn installed (its data)"
        )
    path = (
        Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    )
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1], table[:, -1].astype(np.int64)


@functools.cache
def _digits_split() -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray, NDArray]:
    X, y = digits_data()
    split = json.loads(SPLIT_FILE.read_text())
    train, val = np.array(split["train"]), np.array(split["val"])
    X_tr, X_va, y_tr, y_va = X[train], X[val], y[train], y[val]
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    # Some border pixels are 0 in every training image: dividing by 1 keeps them at 0
    # instead of producing 0/0.
    std[std == 0] = 1.0
    arrays = ((X_tr - mean) / std, y_tr, (X_va - mean) / std, y_va)
    for a in arrays:
        a.setflags(write=False)  # the cache is shared: keep it immutable
    return arrays


def digits_task(dtype: torch.dtype = torch.float32) -> Task:
    """The digits task: 1440 train / 357 val images, x' = (x - mean_train) / std_train.

    The split and the statistics are computed once per process; each call returns fresh
    tensors, so a caller that modifies them in place cannot corrupt the next caller's task.
    """
    _check_dtype(dtype)
    X_tr, y_tr, X_va, y_va = _digits_split()
    return Task(
        name="digits",
        X_train=torch.tensor(X_tr, dtype=dtype),
        y_train=torch.tensor(y_tr),
        X_val=torch.tensor(X_va, dtype=dtype),
        y_val=torch.tensor(y_va),
        n_classes=10,
    )
