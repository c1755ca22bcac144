import subprocess
import sys

import numpy as np
import pytest

import mf
from mf.cli import damped_mean_scores, main
from mf.data import movielens


def test_demo(capsys):
    assert main(["demo", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "Epoch 4/3" not in out
    baseline = float(out.split("damped mean baseline (m = 10)")[1].split()[0])
    model = float(out.split("matrix factorization            ")[1].split()[0])
    assert model < baseline < 1.0
    recs = out.split("training ratings\n")[1].splitlines()[1:]
    assert len(recs) == 10 and all(float(row.split()[1]) > 3.5 for row in recs)
    assert "100,836" in out and "610" in out and "9,724 rated (9,742 in the catalogue)" in out
    assert "density           1.70%" in out
    assert "(sum + m * global mean) / (count + m), m = 10" in out
    lines = out.splitlines()
    first = lines[lines.index(next(ln for ln in lines if ln.startswith("Top 10"))) + 2]
    assert "Shawshank Redemption, The (1994)" in first and "Crime, Drama" in first and "317" in first
    histogram = [ln for ln in lines if "%" in ln and "#" in ln]
    assert len(histogram) == 10 and histogram[0].split()[0] == "0.5" and "1,370" in histogram[0]


def test_demo_options(capsys):
    assert main(["demo", "--top", "3", "-m", "0", "--epochs", "0"]) == 0
    out = capsys.readouterr().out
    assert "Top 3 movies" in out and "m = 0" in out
    table = out.split("genres\n")[1].splitlines()
    assert len(table) == 3 and all(" 5.00 " in row for row in table)  # plain means: movies rated 5 by all


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: command"),
        (["fly"], "invalid choice: 'fly'"),
        (["demo", "--top", "0"], "argument --top: expected a number >= 1, got 0"),
        (["demo", "--top", "ten"], "expected a whole number, got 'ten'"),
        (["demo", "-m", "-1"], "expected a finite number >= 0, got -1"),
        (["demo", "--epochs", "-2"], "expected a number >= 0, got -2"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_data_error_exits_1_with_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(movielens, "_BUNDLED", tmp_path)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mf demo: error: ")
    assert "does not hold the MovieLens latest-small files" in err and "reinstall mf" in err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mf {mf.__version__}"


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "mf", *args], capture_output=True, text=True, timeout=300)


def test_module_entry_point_in_a_subprocess():
    done = run_module("demo", "--top", "2", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    assert "Shawshank Redemption" in done.stdout and done.stderr == ""
    done = run_module("demo", "--top", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_damped_mean_scores_exact():
    r = mf.Ratings([1, 2, 3, 1, 4], ["a", "a", "a", "b", "c"], [5, 5, 5, 1, 4])
    g = 20 / 5
    np.testing.assert_allclose(damped_mean_scores(r, 2), [(15 + 2 * g) / 5, (1 + 2 * g) / 3, (4 + 2 * g) / 3])
    np.testing.assert_allclose(damped_mean_scores(r, 0), [5, 1, 4])
    big = damped_mean_scores(r, 1e9)
    np.testing.assert_allclose(big, g, rtol=1e-6)


def test_damped_mean_scores_for_unrated_items_of_a_subset():
    r = mf.Ratings([1, 1, 2], ["a", "b", "a"], [4.0, 2.0, 5.0])
    part = r.subset(r.item_indices == 0)
    scores = damped_mean_scores(part, 1)
    assert scores[1] == pytest.approx(part.global_mean)  # no ratings: the global mean


@pytest.mark.parametrize("m", [-1, float("inf"), "10", True])
def test_damped_mean_scores_bad_m(m):
    r = mf.Ratings([1], [2], [3.0])
    with pytest.raises(ValueError, match="m must be a finite number >= 0"):
        damped_mean_scores(r, m)


def test_damped_mean_scores_bad_ratings():
    with pytest.raises(TypeError, match="ratings must be mf.Ratings"):
        damped_mean_scores([(1, 2, 3.0)], 1)
    with pytest.raises(ValueError, match="implicit"):
        damped_mean_scores(mf.Ratings([1], [2]), 1)
