"""The digits task: a fixed stratified split, standardised with training statistics only."""

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from lrcourse.training.data import Task, digits_task


def test_split_sizes_classes_and_no_overlap():
    task = digits_task()
    assert (task.n_train, len(task.y_val), task.n_features, task.n_classes) == (
        1440,
        357,
        64,
        10,
    )
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
    assert (
        isinstance(b.to(torch.float32), Task)
        and b.to(torch.float32).dtype == torch.float32
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, "float32"])
def test_bad_dtype_raises(dtype):
    with pytest.raises(ValueError, match="dtype"):
        digits_task(dtype)


def test_bundled_csv_and_stored_split_are_sklearns():
    # digits_data reads sklearn's CSV without importing sklearn; the split is stored as rows.
    from lrcourse.training.data import N_VAL, SPLIT_FILE, digits_data

    X_ref, y_ref = load_digits(return_X_y=True)
    X, y = digits_data()
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    rows = np.arange(len(y))
    train, val = train_test_split(rows, test_size=N_VAL, stratify=y, random_state=0)
    stored = json.loads(SPLIT_FILE.read_text())
    assert stored["train"] == train.tolist() and stored["val"] == val.tolist()
    # and the task is exactly what sklearn's own split gives, standardised
    X_tr, X_va, _, y_va = train_test_split(
        X_ref, y_ref, test_size=N_VAL, stratify=y, random_state=0
    )
    task = digits_task(torch.float64)
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0
    np.testing.assert_array_equal(task.X_val.numpy(), (X_va - mean) / std)
    np.testing.assert_array_equal(task.y_val.numpy(), y_va)
