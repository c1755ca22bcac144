import numpy as np

import mf


def test_ratings_roundtrip_small():
    r = mf.Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
    assert r.n_users == 2 and r.n_items == 2 and r.nnz == 3
    np.testing.assert_array_equal(r.to_csr().toarray(), [[4, 3], [5, 0]])
