import os

import numpy as np
import pytest

from mf.persist import write_npz_atomic


class _Unsaveable:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("cannot convert")


def test_write_npz_atomic_writes_and_replaces(tmp_path):
    path = tmp_path / "a.npz"
    assert write_npz_atomic(path, {"x": np.arange(3)}) == str(path)
    assert write_npz_atomic(str(path), {"y": np.ones(2, dtype=np.float32)}) == str(path)
    with np.load(path, allow_pickle=False) as archive:
        assert archive.files == ["y"]
        np.testing.assert_array_equal(archive["y"], np.ones(2, dtype=np.float32))
    assert os.listdir(tmp_path) == ["a.npz"]


def test_write_npz_atomic_failure_keeps_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "a.npz"
    write_npz_atomic(path, {"x": np.arange(3)})
    with pytest.raises(RuntimeError, match="cannot convert"):
        write_npz_atomic(path, {"x": np.arange(4), "bad": _Unsaveable()})
    assert os.listdir(tmp_path) == ["a.npz"]
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["x"], np.arange(3))
