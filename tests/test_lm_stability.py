"""lrcourse.transformer.stability: the measures that sort a language model's runs into
"trained" and "collapsed", on hand-made loss and gradient-norm curves."""

import numpy as np
import pytest

from lrcourse.transformer import corpus
from lrcourse.transformer.stability import (
    OUTCOMES,
    PLATEAU,
    TRAINED,
    collapsed,
    final_loss,
    max_early_loss,
    max_grad_norm,
    outcome,
    spikes,
    window_mean,
)


def test_plateau_sits_just_below_the_unigram_entropy():
    # a collapsed run predicts from character frequencies: its loss is the unigram entropy
    h = corpus().unigram_entropy()
    assert 3.2 < h < 3.3 and h - 0.3 < PLATEAU < h


def test_window_and_final_means():
    loss = np.arange(1.0, 201.0)  # step t has loss t
    assert window_mean(loss, 10, 10) == pytest.approx(5.5)
    assert window_mean(loss, 200, 4) == pytest.approx(198.5)
    assert final_loss(loss) == pytest.approx(150.5)  # the mean of steps 101-200
    runs = np.stack([loss, 2 * loss])
    np.testing.assert_allclose(final_loss(runs, last=1), [200, 400])


def test_collapsed_is_a_threshold_on_the_final_loss():
    np.testing.assert_array_equal(collapsed([2.1, 3.2, 3.0]), [False, True, False])
    np.testing.assert_array_equal(collapsed([2.9, 3.2], threshold=2.5), [True, True])


def test_outcome_sorts_runs_into_three_categories():
    codes = outcome([[2.0, 2.69, 2.71], [3.0, 3.11, 3.3]])
    np.testing.assert_array_equal(codes, [[0, 0, 1], [1, 2, 2]])
    assert [OUTCOMES[c] for c in codes[1]] == ["stalled", "collapsed", "collapsed"]
    assert TRAINED < PLATEAU


def test_early_loss_grad_norm_and_spikes():
    loss = np.full(100, 3.0)
    loss[20:30] = 5.0
    assert max_early_loss(loss) == pytest.approx(5.0)
    g = np.ones(120)
    g[[2, 70, 100]] = [9.0, 6.0, 4.0]
    assert max_grad_norm(g, 2, 50) == 9.0 and max_grad_norm(g, 4, 60) == 1.0
    # only step 71 exceeds 5x the median of the 50 steps before it (step 3 is too early)
    assert spikes(g) == 1 and spikes(g, factor=3.0) == 2


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="end must"):
        window_mean(np.ones(10), 11)
    with pytest.raises(ValueError, match="window must"):
        window_mean(np.ones(10), 5, 0)
    with pytest.raises(ValueError, match="threshold"):
        collapsed([3.0], threshold=float("nan"))
