"""``seeded``: the same seed gives the same draws, and the caller's RNG is left as it was."""

import torch

from slicekit.slicing.seeding import seeded


def test_the_same_seed_gives_the_same_draws_and_the_rng_comes_back():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    with seeded(5):
        first = torch.rand(4)
    assert torch.equal(torch.random.get_rng_state(), state)
    with seeded(5):
        second = torch.rand(4)
    with seeded(6):
        other = torch.rand(4)
    assert torch.equal(first, second) and not torch.equal(first, other)


def test_no_seed_draws_from_the_callers_rng():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    with seeded(None):
        drawn = torch.rand(3)
    assert torch.equal(drawn, expected)
