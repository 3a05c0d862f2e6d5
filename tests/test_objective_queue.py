"""KeyQueue: first-in first-out per space, wrap-around, state in the state_dict, same start on every process."""

from collections import deque

import pytest
import torch

from looc_hub.objective import KeyQueue


def batch_of(values: list[float], spaces: int = 2, dim: int = 3) -> torch.Tensor:
    """Keys (S, N, D) whose entries are recognisable: space s, key n holds values[n] + 100 * s everywhere."""
    column = torch.tensor(values).view(1, -1, 1)
    return (column + 100 * torch.arange(spaces).view(-1, 1, 1)).expand(spaces, len(values), dim).clone()


def test_enqueue_wraps_around_and_overwrites_oldest_first():
    queue = KeyQueue(num_spaces=2, size=5, dim=3)
    queue.enqueue(batch_of([1, 2, 3]))
    assert queue.pointer.item() == 3
    queue.enqueue(batch_of([4, 5, 6]))
    assert queue.pointer.item() == 1
    # slot order: 6 overwrote the oldest (1); 2 and 3 survive
    assert torch.equal(queue.keys, batch_of([6, 2, 3, 4, 5]))


def test_queue_holds_the_most_recent_keys_like_a_bounded_fifo():
    size = 7
    queue = KeyQueue(num_spaces=2, size=size, dim=3)
    reference = deque(maxlen=size)
    value = 0
    for count in [3, 5, 1, 7, 2, 6, 4]:
        values = list(range(value, value + count))
        value += count
        queue.enqueue(batch_of(values))
        reference.extend(values)
        oldest_first = torch.roll(queue.keys, shifts=-queue.pointer.item(), dims=1)
        newest = oldest_first[:, size - len(reference) :]  # before the queue is full, older slots are random
        assert torch.equal(newest, batch_of(list(reference)))


def test_state_dict_carries_keys_and_pointer():
    queue = KeyQueue(num_spaces=2, size=5, dim=3)
    queue.enqueue(batch_of([1, 2, 3]))
    restored = KeyQueue(num_spaces=2, size=5, dim=3)
    restored.load_state_dict(queue.state_dict())
    assert set(queue.state_dict()) == {"keys", "pointer"}
    assert torch.equal(restored.keys, queue.keys) and restored.pointer.item() == 3


def test_initial_keys_are_unit_vectors_independent_of_the_global_seed():
    torch.manual_seed(1)
    first = KeyQueue(num_spaces=3, size=16, dim=8)
    torch.manual_seed(2)
    second = KeyQueue(num_spaces=3, size=16, dim=8)
    assert torch.equal(first.keys, second.keys)
    torch.testing.assert_close(first.keys.norm(dim=-1), torch.ones(3, 16))
    assert not torch.equal(first.keys[0], first.keys[1])


def test_enqueue_rejects_more_keys_than_slots_and_wrong_shapes():
    queue = KeyQueue(num_spaces=2, size=4, dim=3)
    with pytest.raises(ValueError, match="Cannot enqueue 5 keys into a queue of size 4"):
        queue.enqueue(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"keys must be \(S = 2, N, D = 3\)"):
        queue.enqueue(torch.zeros(3, 2, 3))
    with pytest.raises(ValueError, match=r"keys must be \(S = 2, N, D = 3\)"):
        queue.enqueue(torch.zeros(2, 2, 4))


@pytest.mark.parametrize("arguments", [(0, 4, 3), (2, 0, 3), (2, 4, -1), (2, 4.0, 3)])
def test_invalid_sizes_are_rejected(arguments):
    with pytest.raises(ValueError, match="must be a positive integer"):
        KeyQueue(*arguments)


def test_a_queue_too_long_for_the_dataset_is_refused_with_a_safe_size():
    from looc_hub.objective import check_queue_fits_dataset

    with pytest.raises(ValueError, match=r"queue_size 4096 is too long for a training set of 3692 images.*e\.g\. 512"):
        check_queue_fits_dataset(4096, 3692)  # the old demo: 61% of queries met their own image
    with pytest.raises(ValueError, match="queue_size <= 1846"):
        check_queue_fits_dataset(1847, 3692)
    check_queue_fits_dataset(1846, 3692)
    check_queue_fits_dataset(16384, 126_689)  # the paper's queue on ImageNet-100
