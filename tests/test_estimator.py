import pytest

import mf


@pytest.mark.parametrize("cls, bad", [(mf.MatrixFactorization, {"factors": 0}), (mf.ItemKNN, {"k": 0})])
def test_check_params_validates_without_fitting(cls, bad):
    model = cls()
    assert model.check_params() is model
    assert not hasattr(model, "user_items_")
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"{name} must be >= 1"):
        cls(**bad).check_params()
