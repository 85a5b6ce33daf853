"""Thread control: one thread inside training, the previous count restored after, even on error."""

import pytest
import torch

from lrcourse.training.data import digits_task
from lrcourse.training.threads import one_thread, torch_threads
from lrcourse.training.train import train


def test_threads_are_set_inside_and_restored_after_even_on_error() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_one_thread_keeps_name_and_result() -> None:
    @one_thread
    def probe(x: int) -> tuple[int, int]:
        """Doc."""
        return x, torch.get_num_threads()

    assert probe(3) == (3, 1) and probe.__name__ == "probe" and probe.__doc__ == "Doc."


def test_training_runs_on_one_thread_whatever_the_caller_set() -> None:
    seen = []
    with torch_threads(2):
        train(
            digits_task(),
            lambda t: seen.append(torch.get_num_threads()) or 0.1 + 0 * t,
            steps=2,
        )
        assert torch.get_num_threads() == 2
    assert seen == [1]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_thread_count(bad: object) -> None:
    with (
        pytest.raises(ValueError, match="n must be an integer >= 1"),
        torch_threads(bad),
    ):
        pass
