"""torch_threads / one_thread: set torch's thread count inside, restore it after, even on error."""

import pytest
import torch

from lrcourse.threads import one_thread, torch_threads


def test_threads_are_set_inside_and_restored_after_even_on_error() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_one_thread_decorator_keeps_name_and_result() -> None:
    @one_thread
    def probe(x: int) -> tuple[int, int]:
        """Doc."""
        return x, torch.get_num_threads()

    assert probe(3) == (3, 1) and probe.__name__ == "probe" and probe.__doc__ == "Doc."


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_thread_count(bad: object) -> None:
    with pytest.raises(ValueError, match="n must be an integer >= 1"), torch_threads(bad):
        pass
