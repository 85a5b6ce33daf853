"""The digits task: a fixed stratified split, standardised with training statistics only."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from lrcourse.data import Task, digits_task


def test_split_sizes_classes_and_no_overlap():
    task = digits_task()
    assert (task.n_train, len(task.y_val), task.n_features, task.n_classes) == (1440, 357, 64, 10)
    # Stratified: each class's share of the validation set matches its share of the data.
    _, y = load_digits(return_X_y=True)
    expected = np.bincount(y) * 357 / len(y)
    assert np.all(np.abs(np.bincount(task.y_val.numpy(), minlength=10) - expected) <= 1)
    rows = {tuple(r) for r in task.X_train.double().numpy().round(6)}
    assert not any(tuple(r) in rows for r in task.X_val.double().numpy().round(6))


def test_standardised_with_train_statistics():
    task = digits_task(torch.float64)
    X = task.X_train.numpy()
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    std = X.std(axis=0)
    # Constant pixels stay 0 (no 0/0); all others have unit variance on TRAIN.
    assert np.all(np.isclose(std, 1) | (np.abs(X).max(axis=0) == 0))
    assert np.isfinite(task.X_val.numpy()).all()
    assert abs(task.X_val.numpy().mean()) > 1e-6  # validation statistics were not used


def test_dtype_deterministic_and_fresh_tensors():
    a, b = digits_task(torch.float64), digits_task(torch.float64)
    assert a.X_train.dtype == torch.float64 and a.y_train.dtype == torch.int64
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_val, b.y_val)
    a.X_train.zero_()  # a caller's in-place change must not reach the next caller
    assert digits_task(torch.float64).X_train.abs().sum() > 0
    f32 = digits_task()
    assert f32.dtype == torch.float32
    assert torch.allclose(f32.X_train.double(), b.X_train, atol=1e-6)
    assert isinstance(b.to(torch.float32), Task) and b.to(torch.float32).dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, "float32"])
def test_bad_dtype_raises(dtype):
    with pytest.raises(ValueError, match="dtype"):
        digits_task(dtype)
