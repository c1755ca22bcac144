import numpy as np
import pytest

import mf
from mf.data.random import check_random_state


def test_same_seed_same_draws_and_generator_passes_through():
    assert check_random_state(3).integers(1 << 30) == check_random_state(np.int64(3)).integers(1 << 30)
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    assert isinstance(check_random_state(None), np.random.Generator)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (True, TypeError), (np.bool_(False), TypeError),
                                        (1.0, TypeError), ("0", TypeError)])
def test_bad_random_state(bad, error):
    with pytest.raises(error, match="random_state must be"):
        check_random_state(bad)


def test_models_and_splits_share_the_check():
    r = mf.Ratings([1, 1, 2, 2], [1, 2, 1, 2], [3.0, 4.0, 5.0, 2.0])
    with pytest.raises(ValueError, match="random_state must be a non-negative int"):
        mf.MatrixFactorization(factors=2, epochs=1, random_state=-1).fit(r)
    with pytest.raises(ValueError, match="random_state must be a non-negative int"):
        mf.split.train_test_split(r, random_state=-1)
