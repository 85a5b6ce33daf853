"""The course's plotting helpers: running means, and loss curves that mark divergence."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrcourse.course.plotting import loss_name, plot_loss, running_mean


def test_running_mean_is_a_trailing_window_mean() -> None:
    x = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    np.testing.assert_allclose(running_mean(x, 2), [1.0, 2.0, 4.0, 6.0, 8.0])
    np.testing.assert_allclose(running_mean(x, 1), x)
    np.testing.assert_allclose(running_mean(x, 10), np.cumsum(x) / np.arange(1, 6))
    with pytest.raises(ValueError, match="window"):
        running_mean(x, 0)


def test_loss_name_names_the_two_losses_and_rejects_others() -> None:
    assert loss_name("train_loss") == "train"
    assert loss_name("val_loss") == "validation"
    with pytest.raises(
        ValueError, match=r"^metric must be 'train_loss' or 'val_loss', got 'v"
    ):
        loss_name("val_acc")


def test_plot_loss_stops_at_divergence_and_says_where() -> None:
    fig, ax = plt.subplots()
    plot_loss(ax, np.array([2.0, 1.0, 5.0, np.inf]), label="high lr")
    plot_loss(ax, np.linspace(2.0, 0.1, 50), label="fine", window=5)
    line, marker = ax.get_lines()[:2]
    np.testing.assert_array_equal(
        line.get_ydata(), [2.0, 1.0, 5.0]
    )  # the inf is not drawn
    assert list(marker.get_xdata()) == [2] and list(marker.get_ydata()) == [5.0]
    labels = [t.get_text() for t in ax.legend().get_texts()]
    assert labels == ["high lr (diverged at step 3)", "fine"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    plt.close(fig)


def test_plot_loss_reads_a_history_divergence_step() -> None:
    class Run:  # a History diverged by max_loss: every loss finite
        loss = np.array([2.0, 40.0, 2000.0])
        diverged_at = 2

    fig, ax = plt.subplots()
    plot_loss(ax, Run(), label="capped")
    assert ax.get_lines()[0].get_label() == "capped (diverged at step 2)"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [2.0, 40.0])
    plt.close(fig)


def test_finish_moves_a_shared_legend_below_the_panels(monkeypatch) -> None:
    from lrcourse.course.plotting import finish

    monkeypatch.setattr(plt, "show", lambda: None)
    fig, (a, b) = plt.subplots(1, 2)
    b.plot([1, 2], label="one")
    b.plot([2, 1], label="two")
    finish(fig, legend_from=b)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["one", "two"]
    assert (
        max(ax.get_position().y0 for ax in fig.axes) > 0.1
    )  # room kept below the panels
    plt.close(fig)


def test_color_for_reads_the_schedule_a_label_starts_with() -> None:
    from lrcourse.course.plotting import color_for
    from lrcourse.schedules import SCHEDULES

    assert color_for("cosine") == SCHEDULES["cosine"].color
    assert color_for("cosine (peak 0.3)") == SCHEDULES["cosine"].color
    # the longest match wins: "warmup + cosine" is not "cosine"
    assert color_for("warmup + cosine @ 0.1") == SCHEDULES["warmup + cosine"].color
    assert color_for("lr 5") is None


def test_plain_log_labels_powers_of_ten_plainly_and_drops_minor_ticks() -> None:
    from lrcourse.course.plotting import plain_log

    fig, ax = plt.subplots()
    ax.plot([1, 10, 1000], [0.01, 0.5, 2])
    assert plain_log(ax) is ax
    fig.canvas.draw()
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [
        t.get_text() for t in ax.get_xticklabels() if 1 <= t.get_position()[0] <= 1000
    ]
    assert labels == ["1", "10", "100", "1000"]
    from lrcourse.course.plotting import _plain_power

    assert [_plain_power(v) for v in (1e-5, 1e-4, 1e4, 1e37)] == [
        "1e-5",
        "0.0001",
        "10000",
        "1e37",
    ]
    assert ax.xaxis.get_minorticklocs().size == 0
    with pytest.raises(ValueError, match="axis"):
        plain_log(ax, "z")
    plt.close(fig)
