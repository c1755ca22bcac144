import contextlib
import gzip
import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import mf
from mf import cli as mf_cli
from mf import persist
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


# ---------------------------------------------------------------- train / evaluate / recommend / similar / datasets
BUNDLED = Path(movielens.__file__).resolve().parent / "movielens_small"


def cli(capsys, *argv):
    """``(exit status, stdout, stderr)`` of one in-process run."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def cli_json(capsys, *argv):
    status, out, err = cli(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def small_ratings(n_users=40, n_items=30, per_user=12, seed=0):
    """Low-rank 1..5 ratings with timestamps: (users, items, ratings, timestamps) lists."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    rows = []
    for u in range(n_users):
        for i in rng.choice(n_items, size=per_user, replace=False):
            rows.append((u + 1, int(i) + 101, float(np.clip(np.round(3 + p[u] @ q[i]), 1, 5)),
                         1_000_000 + int(rng.integers(0, 10**6))))
    return rows


def write_ratings(path, rows, header="userId,movieId,rating,timestamp", sep=",", columns=4):
    lines = [header] if header else []
    lines += [sep.join(f"{v:g}" if isinstance(v, float) else str(v) for v in row[:columns]) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_movies(folder, rows):
    items = sorted({i for _, i, _, _ in rows})
    lines = ["movieId,title,genres"] + [f'{i},"Movie {i}, The ({1900 + i})",Drama' for i in items]
    (folder / "movies.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def rows():
    return small_ratings()


@pytest.fixture(scope="module")
def small(tmp_path_factory, rows):
    """A folder with a MovieLens-style release (ratings.csv + movies.csv) and separate train/test files."""
    folder = tmp_path_factory.mktemp("release")
    write_ratings(folder / "ratings.csv", rows)
    write_movies(folder, rows)
    plain = tmp_path_factory.mktemp("plain")
    order = np.random.default_rng(1).permutation(len(rows))
    cut = int(0.8 * len(rows))
    write_ratings(plain / "train.csv", [rows[k] for k in order[:cut]])
    write_ratings(plain / "test.csv", [rows[k] for k in order[cut:]])
    return folder, plain


def quiet_main(*argv):
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        assert main([str(a) for a in argv]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def movielens_model(tmp_path_factory):
    """An ALS model trained on 80% of the bundled MovieLens data, and the JSON summary of its training."""
    path = tmp_path_factory.mktemp("model") / "als.npz"
    out = quiet_main("train", "latest-small", "--factors", 4, "--epochs", 2, "--validation-split", 0.2,
                     "--out", path, "--json")
    return path, json.loads(out)


def test_train_on_movielens_saves_model_source_and_titles(movielens_model):
    path, summary = movielens_model
    assert summary["model"] == "als" and summary["class"] == "MatrixFactorization"
    assert summary["train"] == {"ratings": 80669, "users": 610, "items": 9724}
    assert summary["validation"]["ratings"] == 20167 and summary["validation"]["split"] == "random"
    assert set(summary["validation"]["metrics"]) == {"rmse", "mae"}
    assert 0.5 < summary["validation"]["metrics"]["rmse"] < 1.2
    assert summary["params"]["factors"] == 4 and summary["params"]["random_state"] == 0
    assert summary["final"]["train_rmse"] < summary["final"]["val_rmse"]
    model, metadata = mf.load(path, return_metadata=True)
    assert metadata["model"] == "als" and metadata["source"]["variant"] == "latest-small"
    titles = dict(zip(model.item_map_.ids.tolist(), metadata["titles"]))
    assert titles[1] == "Toy Story (1995)" and len(titles) == 9724
    assert metadata["validation"]["metrics"] == summary["validation"]["metrics"]


def test_train_progress_goes_to_stderr_and_summary_to_stdout(capsys, small, tmp_path):
    status, out, err = cli(capsys, "train", small[1] / "train.csv", "--factors", 2, "--epochs", 2,
                           "--out", tmp_path / "m.npz")
    assert status == 0
    assert "Training als on 384 ratings (40 users x 30 items)" in err and "Epoch 2/2" in err
    assert "Epoch" not in out and out.startswith("Trained MatrixFactorization(")
    assert out.rstrip().endswith(f"Saved to {tmp_path / 'm.npz'}")
    assert "Validation" not in out
    status, out, err = cli(capsys, "train", small[1] / "train.csv", "--epochs", 1, "-q", "--out", tmp_path / "m.npz")
    assert status == 0 and err == ""


@pytest.mark.parametrize(
    "model, options, split, cls",
    [
        ("sgd", ["--lr", "0.02", "--reg", "0.05"], "user", "MatrixFactorization"),
        ("adam", ["--lr", "0.01"], "random", "MatrixFactorization"),
        ("implicit-als", ["--alpha", "2", "--binarize", "4"], "user", "ImplicitALS"),
        ("bpr", ["--lr", "0.05", "--binarize", "3"], "random", "BPR"),
        ("itemknn", ["--neighbors", "5"], "time", "ItemKNN"),
    ],
)
def test_train_each_model_then_recommend_and_similar(capsys, small, tmp_path, model, options, split, cls):
    path = tmp_path / f"{model}.npz"
    extra = [] if model == "itemknn" else ["--factors", 3, "--epochs", 2, "--threads", 1]
    summary = cli_json(capsys, "train", small[0], "--model", model, *options, *extra, "--validation-split", 0.25,
                       "--split", split, "--out", path)
    assert summary["class"] == cls and summary["validation"]["split"] == split
    expected = {"rmse", "mae"} if cls in ("MatrixFactorization", "ItemKNN") else \
        {"precision@10", "recall@10", "ndcg@10"}
    assert set(summary["validation"]["metrics"]) == expected
    model_obj = mf.load(path)
    assert type(model_obj).__name__ == cls
    recs = cli_json(capsys, "recommend", path, "--user", 3, "-n", 4)
    seen = set(model_obj.user_items_[model_obj.user_map_.index(3)].indices.tolist())
    assert len(recs["items"]) == 4 and not {model_obj.item_map_.index(r["item"]) for r in recs["items"]} & seen
    assert all(r["title"] == f"Movie {r['item']}, The ({1900 + r['item']})" for r in recs["items"])
    similar = cli_json(capsys, "similar", path, "--item", 101, "-n", 3)
    assert similar["title"] == "Movie 101, The (2001)" and len(similar["items"]) <= 3
    assert all(r["item"] != 101 for r in similar["items"])


def test_evaluate_scores_exactly_the_validation_part(capsys, movielens_model):
    path, summary = movielens_model
    result = cli_json(capsys, "evaluate", path, "latest-small", "--metrics", "rmse,mae")
    assert result["ratings"] == 20167 and result["left_out_training_ratings"] == 80669
    assert result["metrics"] == summary["validation"]["metrics"]
    assert result["model"] == "MatrixFactorization (als) trained on latest-small"
    status, out, _ = cli(capsys, "evaluate", path, "latest-small", "--metrics", "rmse")
    assert status == 0 and "scored on 20,167 held-out ratings" in out and "80,669 ratings it was trained on" in out
    assert f"rmse          {summary['validation']['metrics']['rmse']:.4f}" in out


def test_evaluate_matches_the_library_metrics(capsys, small, tmp_path):
    path = tmp_path / "ials.npz"
    cli_json(capsys, "train", small[1] / "train.csv", "--model", "implicit-als", "--factors", 3, "--epochs", 3,
             "--out", path)
    metrics = "precision@5,recall@5,ndcg,map@3,hit_rate@5,mrr,auc"
    result = cli_json(capsys, "evaluate", path, small[1] / "test.csv", "--metrics", metrics, "--threshold", 3)
    assert result["left_out_training_ratings"] == 0 and result["ratings"] == 96
    model = mf.load(path)
    train = mf.Ratings.from_sparse(model.user_items_, model.user_map_.ids, model.item_map_.ids)
    test = mf.datasets.read_csv(small[1] / "test.csv", "userId", "movieId", "rating")
    at5 = mf.evaluate.ranking(model, train, test, k=5, relevance_threshold=3)
    at10 = mf.evaluate.ranking(model, train, test, k=10, relevance_threshold=3)
    at3 = mf.evaluate.ranking(model, train, test, k=3, relevance_threshold=3)
    expected = {"precision@5": at5["precision"], "recall@5": at5["recall"], "ndcg@10": at10["ndcg"],
                "map@3": at3["map"], "hit_rate@5": at5["hit_rate"], "mrr@10": at10["mrr"]}
    for key, value in expected.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-12), key
    # AUC over the full ranking, from dense scores of every (user, item)
    scores = model.user_factors_ @ model.item_factors_.T
    relevant = test.subset(test.values >= 3)
    u, i = relevant.indices_in(model.user_map_, model.item_map_)
    keep = (u >= 0) & (i >= 0)
    candidates = model.user_items_.toarray() == 0
    rel = [set(i[keep][u[keep] == row].tolist()) for row in range(model.user_items_.shape[0])]
    users = [row for row in range(len(rel)) if rel[row]]
    expected_auc = mf.metrics.auc(scores[users], [rel[row] for row in users], candidates=candidates[users])
    assert result["metrics"]["auc"] == pytest.approx(expected_auc, abs=1e-6)
    assert list(result["metrics"]) == ["precision@5", "recall@5", "ndcg@10", "map@3", "hit_rate@5", "mrr@10", "auc"]


def test_recommend_with_titles_text_and_json(capsys, movielens_model):
    path, _ = movielens_model
    status, out, err = cli(capsys, "recommend", path, "--user", 1, "-n", 5)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Top 5 items for user 1, by MatrixFactorization (als) trained on latest-small"
    assert len(lines) == 7 and lines[1].split() == ["#", "score", "item", "title"]
    result = cli_json(capsys, "recommend", path, "--user", 1, "-n", 5)
    model = mf.load(path)
    ids, scores = model.recommend(1, n=5)
    assert [r["item"] for r in result["items"]] == ids.tolist()
    assert [r["rank"] for r in result["items"]] == [1, 2, 3, 4, 5]
    assert [r["score"] for r in result["items"]] == pytest.approx(scores.tolist(), abs=1e-5)
    catalogue = movielens.load_movielens().movies
    assert [r["title"] for r in result["items"]] == [catalogue[i].title for i in ids.tolist()]
    assert all(r["title"] in out for r in result["items"])


def test_recommend_titles_from_data_option(capsys, small, tmp_path):
    path = tmp_path / "plain.npz"
    cli_json(capsys, "train", small[1] / "train.csv", "--factors", 2, "--epochs", 1, "--out", path)
    assert mf.load(path, return_metadata=True)[1]["titles"] is None
    status, out, _ = cli(capsys, "recommend", path, "--user", 2, "-n", 2)
    assert status == 0 and [line.split()[-1] for line in out.splitlines()[2:]] == ["-", "-"]
    result = cli_json(capsys, "recommend", path, "--user", 2, "-n", 2, "--data", small[0])
    assert all(r["title"] == f"Movie {r['item']}, The ({1900 + r['item']})" for r in result["items"])


def test_similar_items_with_titles(capsys, movielens_model):
    path, _ = movielens_model
    result = cli_json(capsys, "similar", path, "--item", 1, "-n", 4)
    assert result["item"] == 1 and result["title"] == "Toy Story (1995)"
    sims = [r["similarity"] for r in result["items"]]
    assert len(sims) == 4 and sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    ids, _ = mf.load(path).similar_items(1, n=4)
    assert [r["item"] for r in result["items"]] == ids.tolist()
    status, out, _ = cli(capsys, "similar", path, "--item", 1, "-n", 4)
    assert out.startswith("4 items most similar to 1 (Toy Story (1995)), by MatrixFactorization (als)")


def test_string_ids(capsys, tmp_path):
    rows = [(f"u{u}", f"film-{i}", r, t) for u, i, r, t in small_ratings(n_users=10, n_items=8, per_user=5)]
    data = write_ratings(tmp_path / "strings.tsv", rows, header="user\titem\tstars\tts", sep="\t")
    path = tmp_path / "s.npz"
    cli_json(capsys, "train", data, "--model", "bpr", "--factors", 2, "--epochs", 1, "--out", path)
    result = cli_json(capsys, "recommend", path, "--user", "u3", "-n", 2)
    assert result["user"] == "u3" and all(r["item"].startswith("film-") and r["title"] is None
                                          for r in result["items"])


def test_datasets(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MF_DATA_HOME", str(tmp_path))
    (tmp_path / "ml-1m.zip").write_bytes(b"cached")
    result = cli_json(capsys, "datasets")
    assert result["data_home"] == str(tmp_path)
    status = {d["name"]: (d["status"], d["path"]) for d in result["datasets"]}
    assert status["latest-small"] == ("bundled", str(BUNDLED))
    assert status["1m"] == ("cached", str(tmp_path / "ml-1m.zip"))
    assert status["100k"] == ("not downloaded", str(tmp_path / "ml-100k.zip"))
    assert [d["name"] for d in result["datasets"]] == [d.name for d in movielens.list_datasets()]
    code, out, _ = cli(capsys, "datasets")
    assert code == 0 and "1m            cached" in out and str(tmp_path / "ml-1m.zip") in out


# ---------------------------------------------------------------- DATA forms
def trained_data(capsys, data, tmp_path, *options):
    """The training interactions of a one-epoch BPR fitted on DATA: (model, sorted (user, item, value) list)."""
    path = tmp_path / "probe.npz"
    cli_json(capsys, "train", data, "--model", "bpr", "--factors", 2, "--epochs", 1, "--out", path, *options)
    model, metadata = mf.load(path, return_metadata=True)
    coo = model.user_items_.tocoo()
    users, items = model.user_map_.ids[coo.row].tolist(), model.item_map_.ids[coo.col].tolist()
    return metadata, sorted(zip(users, items, coo.data.tolist()))


EXPECTED = sorted((u, i, r) for u, i, r, _ in small_ratings(n_users=6, n_items=5, per_user=3))


@pytest.mark.parametrize(
    "name, text",
    [
        ("u.data", lambda rows: "".join(f"{u}\t{i}\t{r:g}\t{t}\n" for u, i, r, t in rows)),
        ("ratings.dat", lambda rows: "".join(f"{u}::{i}::{r:g}::{t}\n" for u, i, r, t in rows)),
        ("ratings.csv", lambda rows: "userId,movieId,rating,timestamp\n"
                                     + "".join(f"{u},{i},{r:g},{t}\n" for u, i, r, t in rows)),
        ("no-header.csv", lambda rows: "".join(f"{u},{i},{r:g},{t}\n" for u, i, r, t in rows)),
        ("reordered.csv", lambda rows: "Rating;Item;User\n" + "".join(f"{r:g};{i};{u}\n" for u, i, r, t in rows)),
        ("three.psv", lambda rows: "".join(f"{u}|{i}|{r:g}\n" for u, i, r, t in rows)),
    ],
)
def test_data_file_formats_are_detected(capsys, tmp_path, name, text):
    rows = small_ratings(n_users=6, n_items=5, per_user=3)
    (tmp_path / name).write_text(text(rows))
    metadata, got = trained_data(capsys, tmp_path / name, tmp_path)
    assert got == EXPECTED
    assert metadata["source"]["kind"] == "file" and metadata["titles"] is None


def test_data_gzip_and_implicit_two_columns(capsys, tmp_path):
    rows = small_ratings(n_users=6, n_items=5, per_user=3)
    with gzip.open(tmp_path / "r.csv.gz", "wt") as f:
        f.write("".join(f"{u},{i},{r:g}\n" for u, i, r, _ in rows))
    assert trained_data(capsys, tmp_path / "r.csv.gz", tmp_path)[1] == EXPECTED
    (tmp_path / "clicks.csv").write_text("".join(f"{u},{i}\n" for u, i, _, _ in rows))
    assert trained_data(capsys, tmp_path / "clicks.csv", tmp_path)[1] == [(u, i, 1.0) for u, i, _ in EXPECTED]


def test_data_column_options(capsys, tmp_path):
    rows = small_ratings(n_users=6, n_items=5, per_user=3)
    (tmp_path / "x.txt").write_text("".join(f"{t} {r:g} {i} {u}\n" for u, i, r, t in rows))
    _, got = trained_data(capsys, tmp_path / "x.txt", tmp_path, "--sep", " ", "--user-col", 3, "--item-col", 2,
                          "--rating-col", 1, "--timestamp-col", 0)
    assert got == EXPECTED
    (tmp_path / "named.csv").write_text("who,what,how,junk\n" + "".join(f"{u},{i},{r:g},x\n" for u, i, r, _ in rows))
    _, got = trained_data(capsys, tmp_path / "named.csv", tmp_path, "--user-col", "who", "--item-col", "what",
                          "--rating-col", "how", "--timestamp-col", "none")
    assert got == EXPECTED
    _, got = trained_data(capsys, tmp_path / "named.csv", tmp_path, "--rating-col", "none", "--timestamp-col", "none")
    assert got == [(u, i, 1.0) for u, i, _ in EXPECTED]


@pytest.mark.parametrize("data", [BUNDLED, BUNDLED / "ratings.csv.gz", "ml-latest-small"])
def test_data_movielens_folder_file_and_name(capsys, tmp_path, data):
    path = tmp_path / "m.npz"
    summary = cli_json(capsys, "train", data, "--factors", 2, "--epochs", 1, "--out", path)
    assert summary["train"]["ratings"] == 100836 and summary["data"]["kind"] == "movielens"
    metadata = mf.load(path, return_metadata=True)[1]
    assert "Toy Story (1995)" in metadata["titles"]


def test_a_ratings_file_inside_a_release_folder_gets_its_titles(capsys, rows, tmp_path):
    write_ratings(tmp_path / "ratings.csv", rows)
    write_movies(tmp_path, rows)
    write_ratings(tmp_path / "part.csv", rows[:50])
    metadata, got = trained_data(capsys, tmp_path / "part.csv", tmp_path)
    assert len(got) == 50 and metadata["source"]["kind"] == "file"
    first = min(i for _, i, _, _ in rows[:50])
    assert metadata["titles"][0] == f"Movie {first}, The ({1900 + first})"


# ---------------------------------------------------------------- errors
def error_cases(small, model, ials, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    text = tmp_path / "text.npz"
    text.write_text("not a model")
    train_csv = small[1] / "train.csv"
    out = ["--out", tmp_path / "x.npz"]
    return [
        # usage errors (exit 2): the command line itself
        (["train", train_csv], 2, "the following arguments are required: --out"),
        (["train", train_csv, "--model", "svd", *out], 2, "argument --model: invalid choice: 'svd'"),
        (["train", train_csv, "--model", "itemknn", "--factors", 4, *out], 2,
         "--factors does not apply to --model itemknn (it takes --neighbors)"),
        (["train", train_csv, "--model", "als", "--lr", 0.1, *out], 2, "--lr does not apply to --model als"),
        (["train", train_csv, "--reg", 0, *out], 2, "--model als: reg must be > 0 for the ALS solver"),
        (["train", train_csv, "--validation-split", 1.5, *out], 2, "expected a fraction between 0 and 1"),
        (["train", train_csv, "--metrics", "ndcg", *out], 2, "--metrics scores the validation part"),
        (["train", train_csv, "--model", "bpr", "--metrics", "rmse", "--validation-split", 0.2, *out], 2,
         "rmse needs predicted ratings, but BPR only ranks items"),
        (["train", "latest-small", "--user-col", "uid", *out], 2, "--user-col applies to a ratings file"),
        (["evaluate", model, train_csv, "--metrics", "rmse,hits@3"], 2, "unknown metric 'hits'"),
        (["evaluate", model, train_csv, "--metrics", "rmse@3"], 2, "rmse takes no @K cutoff"),
        (["evaluate", model, train_csv, "--metrics", "ndcg@0"], 2, "expected a number >= 1, got 0"),
        (["recommend", model], 2, "the following arguments are required: --user"),
        (["recommend", model, "--user", 1, "-n", 0], 2, "argument -n: expected a number >= 1"),
        (["train", train_csv, "--sep", "", *out], 2, "expected a separator"),
        # data errors (exit 1): what the files hold
        (["train", tmp_path / "missing.csv", *out], 1, "DATA '" + str(tmp_path / "missing.csv") + "' is not a file"),
        (["train", train_csv, "--user-col", "uid", *out], 1, "user='uid': no such column; the header has columns"),
        (["train", train_csv, "--rating-col", 9, *out], 1, "rating=9: the header has only 4 columns"),
        (["train", train_csv, "--rating-col", "none", *out], 1, "--model als learns from rating values"),
        (["train", train_csv, "--timestamp-col", "none", "--split", "time", "--validation-split", 0.2, *out], 1,
         "--split time needs timestamps, but DATA has none"),
        (["train", train_csv, "--out", tmp_path / "no" / "x.npz"], 1, "does not exist; create it first"),
        (["train", tmp_path, *out], 1, "is not a MovieLens release"),
        (["recommend", tmp_path / "none.npz", "--user", 1], 1, "no model file at"),
        (["recommend", corrupt, "--user", 1], 1, "is truncated or corrupted and cannot be read as an mf model"),
        (["recommend", text, "--user", 1], 1, "is not an mf model file"),
        (["recommend", model, "--user", 999], 1, "user '999' is not in the model's training data; choose one of"),
        (["recommend", model, "--user", "ann"], 1, "user 'ann' is not in the model's training data"),
        (["similar", model, "--item", 5], 1, "item '5' is not in the model's training data"),
        (["evaluate", ials, small[1] / "test.csv", "--metrics", "rmse,mae"], 1,
         "rmse and mae need predicted ratings, but ImplicitALS only ranks items"),
        (["evaluate", model, train_csv], 1, "DATA holds only ratings the model was trained on"),
        (["evaluate", model, small[1] / "test.csv", "--sep", ";"], 1, "too few fields separated by ';'"),
    ]


@pytest.fixture(scope="module")
def error_models(small, tmp_path_factory):
    folder = tmp_path_factory.mktemp("errors")
    model, ials = folder / "als.npz", folder / "ials.npz"
    quiet_main("train", small[1] / "train.csv", "--factors", 2, "--epochs", 1, "--out", model)
    quiet_main("train", small[1] / "train.csv", "--model", "implicit-als", "--factors", 2, "--epochs", 1, "--out", ials)
    return model, ials, folder


def test_errors_are_one_line_with_the_right_exit_status(capsys, small, error_models):
    model, ials, folder = error_models
    for argv, code, message in error_cases(small, model, ials, folder):
        status, out, err = cli(capsys, *argv)
        assert status == code, (argv, err)
        assert err.count("\n") == 1 and err.startswith(f"mf {argv[0]}: error: "), (argv, err)
        assert message in err, (argv, err)
        assert "Traceback" not in err and out == ""
        if code == 2:
            assert err.rstrip().endswith(f"see 'mf {argv[0]} --help'")
    assert not (folder / "x.npz").exists()


def test_warnings_are_one_line(capsys):
    with mf_cli._warnings_as_lines("train"):
        warnings.warn("first line\n  second line", UserWarning)
    assert capsys.readouterr().err == "mf train: warning: first line second line\n"


# ---------------------------------------------------------------- model files with metadata
def test_save_metadata_round_trip_and_old_files(tmp_path):
    r = mf.Ratings([1, 1, 2, 2], ["a", "b", "a", "c"], [4.0, 3.0, 5.0, 2.0])
    model = mf.MatrixFactorization(factors=2, epochs=2, random_state=0).fit(r)
    metadata = {"source": {"data": "x.csv", "columns": [0, 1, None]}, "titles": ["A", None, "C"], "n": 3}
    persist.save(model, tmp_path / "m.npz", metadata)
    loaded, got = mf.load(tmp_path / "m.npz", return_metadata=True)
    assert got == metadata
    np.testing.assert_array_equal(loaded.predict([1, 2], ["c", "b"]), model.predict([1, 2], ["c", "b"]))
    assert isinstance(mf.load(tmp_path / "m.npz"), mf.MatrixFactorization)
    model.save(tmp_path / "plain.npz")
    assert mf.load(tmp_path / "plain.npz", return_metadata=True)[1] == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "plain.npz"]  # no temporary files left


@pytest.mark.parametrize("metadata, message", [
    (["not", "a", "dict"], "metadata must be a dict"),
    ({"when": np.datetime64("2020-01-01")}, "metadata must hold only JSON values"),
    ({"x": float("nan")}, "metadata must hold only JSON values"),
])  # fmt: skip
def test_save_rejects_bad_metadata_and_writes_nothing(tmp_path, metadata, message):
    model = mf.MatrixFactorization(factors=2, epochs=1, random_state=0).fit(mf.Ratings([1, 2], [1, 1], [4.0, 2.0]))
    with pytest.raises(TypeError, match=message):
        persist.save(model, tmp_path / "m.npz", metadata)
    assert list(tmp_path.iterdir()) == []


def test_train_recommend_in_a_subprocess(tmp_path, small):
    path = tmp_path / "m.npz"
    done = run_module("train", str(small[0]), "--factors", "2", "--epochs", "2", "--out", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["train"]["ratings"] == 480 and "Epoch 2/2" in done.stderr
    done = run_module("recommend", str(path), "--user", "1", "-n", "3", "--json")
    assert done.returncode == 0 and done.stderr == ""
    assert [r["rank"] for r in json.loads(done.stdout)["items"]] == [1, 2, 3]
    done = run_module("similar", str(path), "--item", "1")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
