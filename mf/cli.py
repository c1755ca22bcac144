"""The ``mf`` command line (``mf <command>`` or ``python -m mf <command>``).

Commands
--------
demo
    Summarise the bundled MovieLens ratings, list the best-rated movies, train
    a matrix factorization on an 80/20 split and recommend movies for a user.
train DATA --model NAME --out FILE
    Fit a model (``als``, ``sgd``, ``adam``, ``implicit-als``, ``bpr`` or
    ``itemknn``) on DATA, optionally holding out a validation part, and save
    it with a record of its data source and the titles of its items.
evaluate MODEL DATA
    Score a saved model on the held-out ratings in DATA.
recommend MODEL --user ID
    The best items for a user of the training data, with titles.
similar MODEL --item ID
    The items most similar to an item, with titles.
datasets
    The MovieLens variants, whether each is bundled, cached or not yet
    downloaded, and where.

DATA
----
Where ratings come from, tried in this order:

* a MovieLens release: its folder or official zip (ratings and titles);
* a delimited ratings file (``.gz``, ``.bz2`` and ``.xz`` are read too). The
  separator (``::``, tab, ``,``, ``;`` or ``|``) is guessed from the first
  line; a header naming the user and item columns (``userId``, ``movieId``,
  ``rating``, ``timestamp`` and similar names) is used when present, else the
  columns are user, item, rating and timestamp in that order (two columns:
  implicit data). This reads MovieLens' ``u.data``, ``ratings.dat`` and
  ``ratings.csv`` with or without a header; ``--sep`` and ``--user-col``,
  ``--item-col``, ``--rating-col``, ``--timestamp-col`` (a name or a 0-based
  position; ``none`` for no column) override the guesses. A file in a
  MovieLens release folder gets that release's titles;
* a MovieLens variant name (``latest-small``, which is bundled, ``100k``,
  ``1m``, ...), downloaded into :func:`mf.datasets.data_home` on first use.

Output and errors
-----------------
Results go to stdout, progress and warnings to stderr (one line each).
``--json`` prints the result as one JSON document instead of text. Exit
status: 0 on success; 2 for a usage error, that is anything wrong with the
command line itself (an unknown option, a bad value, an option that does not
apply to the chosen model); 1 for an error found in the files (a missing or
malformed file, an unknown column, user or item, a corrupted model file, a
model without the requested ability). Every error is one line,
``mf <command>: error: <what went wrong and how to fix it>``.

Examples
--------
>>> status = main(["datasets", "--json"])  # doctest: +ELLIPSIS
{
  "data_home": "...",
  "datasets": [
    {
      "name": "latest-small",
      "status": "bundled",
...
>>> status
0
"""

import argparse
import contextlib
import json
import math
import numbers
import sys
import time
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import __version__
from .data.movielens import data_home, list_datasets, load_movielens
from .data.ratings import Ratings
from .data.readers import open_binary, read_csv
from .data.splits import temporal_split, train_test_split, user_holdout
from .evaluate import RANKING_METRICS, ranking
from .metrics import auc, mae, rmse
from .models import ItemKNN, MatrixFactorization
from .models.implicit import BPR, ImplicitALS
from .persist import load, save

__all__ = ["damped_mean_scores", "main"]

# model name -> (class, fixed parameters, {command-line option: parameter})
_MODELS = {
    "als": (MatrixFactorization, {"solver": "als"}, {"factors": "factors", "epochs": "epochs", "reg": "reg"}),
    "sgd": (MatrixFactorization, {"solver": "sgd"},
            {"factors": "factors", "epochs": "epochs", "reg": "reg", "lr": "lr"}),
    "adam": (MatrixFactorization, {"solver": "adam"},
             {"factors": "factors", "epochs": "epochs", "reg": "reg", "lr": "lr"}),
    "implicit-als": (ImplicitALS, {},
                     {"factors": "factors", "epochs": "iterations", "reg": "reg", "alpha": "alpha",
                      "binarize": "binarize"}),
    "bpr": (BPR, {}, {"factors": "factors", "epochs": "epochs", "reg": "reg", "lr": "lr", "binarize": "binarize"}),
    "itemknn": (ItemKNN, {}, {"neighbors": "k"}),
}  # fmt: skip
_MODEL_OPTIONS = ("factors", "epochs", "reg", "lr", "alpha", "binarize", "neighbors")
_RATING_MODELS = (MatrixFactorization, ItemKNN)  # models whose predictions are ratings

_SPLITS = {
    "random": lambda r, f, seed: train_test_split(r, test_size=f, random_state=seed),
    "user": lambda r, f, seed: user_holdout(r, test_size=f, random_state=seed),
    "time": lambda r, f, seed: temporal_split(r, test_size=f),
}

_RATING_METRICS = {"rmse": rmse, "mae": mae}
_METRIC_NAMES = (*_RATING_METRICS, *RANKING_METRICS, "auc")
_DEFAULT_K = 10
_AUC_CELLS = 1 << 22  # users x items scored at once for AUC

_SEPARATORS = ("::", "\t", ",", ";", "|")
_HEADER_NAMES = {
    "user": ("user", "userid", "user_id", "uid"),
    "item": ("item", "itemid", "item_id", "movie", "movieid", "movie_id", "iid"),
    "rating": ("rating", "score", "stars", "value"),
    "timestamp": ("timestamp", "time", "date", "ts"),
}
_NO_COLUMN = "none"  # --rating-col / --timestamp-col value for "no such column"
# files that identify a MovieLens release folder, by layout
_RELEASE_FILES = {
    "100k": ("u.data", "u.item", "u.genre"),
    "dat": ("ratings.dat", "movies.dat"),
    "csv": ("ratings.csv", "movies.csv"),
}
_RELEASE_LAYOUT = {"100k": "100k", "1m": "dat", "10m": "dat"}  # every other variant: csv
_LAYOUT_VARIANT = {"100k": "100k", "dat": "1m", "csv": "latest"}

_DATA_HELP = ("ratings: a CSV/TSV file, a MovieLens release folder or zip, or a MovieLens name "
              "(latest-small, 100k, 1m, 10m, 20m, 25m, latest); see 'mf --help'")  # fmt: skip


class _Metric(namedtuple("_Metric", "name k")):
    """One entry of ``--metrics``: a metric name and its cutoff (None for rmse, mae and auc)."""

    __slots__ = ()

    @property
    def key(self):
        return self.name if self.k is None else f"{self.name}@{self.k}"


_Loaded = namedtuple("_Loaded", "ratings titles source")


class _UsageError(Exception):
    """Something wrong with the command line itself (exit status 2)."""


def damped_mean_scores(ratings, m=10):
    """Mean rating of each item, damped towards the global mean.

    ``score = (sum of its ratings + m * global_mean) / (its count + m)``: an
    item with few ratings stays near the global mean, one with many gets its
    own mean. ``m=0`` gives the plain mean (NaN for an item without ratings).

    Parameters
    ----------
    ratings : Ratings
        Explicit ratings.
    m : float
        Damping strength, in pseudo-ratings at the global mean (>= 0).

    Returns
    -------
    numpy.ndarray of float64
        ``scores[k]`` is the score of the item ``ratings.item_ids[k]``.

    Examples
    --------
    >>> from mf import Ratings
    >>> r = Ratings([1, 2, 3, 1], ["a", "a", "a", "b"], [5, 5, 5, 1])
    >>> damped_mean_scores(r, m=2).tolist()
    [4.6, 3.0]
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be mf.Ratings, got {type(ratings).__name__}")
    if ratings.implicit:
        raise ValueError("ratings are implicit (no rating values); damped means need explicit ratings")
    if isinstance(m, bool) or not isinstance(m, numbers.Real) or not math.isfinite(m) or m < 0:
        raise ValueError(f"m must be a finite number >= 0, got {m!r}")
    counts = np.bincount(ratings.item_indices, minlength=ratings.n_items).astype(np.float64)
    sums = np.bincount(ratings.item_indices, weights=ratings.values, minlength=ratings.n_items)
    with np.errstate(invalid="ignore"):
        return (sums + m * ratings.global_mean) / (counts + m)


# ---------------------------------------------------------------------- argument types
def _whole_number(low):
    """An argument type: a whole number >= ``low``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1)
_count = _whole_number(0)


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _non_negative(text):
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _positive(text):
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _fraction(text):
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 (exclusive), got {text}")
    return value


def _separator(text):
    sep = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if not sep or any(c in sep for c in "\r\n\""):
        raise argparse.ArgumentTypeError(f"expected a separator such as ',', '\\t' or '::', got {text!r}")
    return sep


def _column(text):
    if not text:
        raise argparse.ArgumentTypeError("expected a column name or 0-based position, got ''")
    return int(text) if text.isdigit() else text


def _optional_column(text):
    return _NO_COLUMN if text.lower() == _NO_COLUMN else _column(text)


def _metrics(text):
    """``--metrics``: comma-separated names, ranking metrics with an optional ``@K`` (default 10)."""
    chosen = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        name, _, k = part.partition("@")
        if name not in _METRIC_NAMES:
            raise argparse.ArgumentTypeError(f"unknown metric {name!r}; choose from {', '.join(_METRIC_NAMES)}")
        if name not in RANKING_METRICS:
            if k:
                raise argparse.ArgumentTypeError(f"{name} takes no @K cutoff, got {part!r}")
            metric = _Metric(name, None)
        else:
            metric = _Metric(name, _positive_int(k) if k else _DEFAULT_K)
        if metric not in chosen:
            chosen.append(metric)
    if not chosen:
        raise argparse.ArgumentTypeError("expected at least one metric, e.g. rmse,ndcg@10")
    return tuple(chosen)


# ---------------------------------------------------------------------- demo
def _shorten(text, width):
    return text if len(text) <= width else text[: width - 3] + "..."


def _histogram(values, width=40):
    levels, counts = np.unique(values, return_counts=True)
    total = counts.sum()
    style = "g" if np.all(levels == np.round(levels)) else ".1f"
    lines = []
    for level, count in zip(levels.tolist(), counts.tolist()):
        bar = "#" * max(1, round(width * count / counts.max()))
        lines.append(f"  {level:>4{style}}  {bar:<{width}}  {count:>7,}  {100 * count / total:5.1f}%")
    return lines


def _demo(args, out):
    data = load_movielens("latest-small")
    r = data.ratings
    first, last = (np.datetime64(int(t), "s").astype("datetime64[D]") for t in (r.timestamps.min(), r.timestamps.max()))
    lines = [
        f"MovieLens {data.name} (bundled with mf)",
        f"  ratings       {r.nnz:>9,}",
        f"  users         {r.n_users:>9,}",
        f"  movies        {r.n_items:>9,} rated ({len(data.movies):,} in the catalogue)",
        f"  density       {100 * r.density:>8.2f}%",
        f"  mean rating   {r.global_mean:>9.2f}",
        f"  rated between {first} and {last}",
        "",
        "Rating histogram",
        *_histogram(r.values),
        "",
    ]
    scores = damped_mean_scores(r, args.damping)
    counts = r.item_counts()
    top = np.argsort(-scores, kind="stable")[: args.top]
    lines += [
        f"Top {len(top)} movies by damped mean rating = (sum + m * global mean) / (count + m), m = {args.damping:g}",
        f"  {'#':>3}  {'score':>5}  {'ratings':>7}  {'title':<50}  genres",
    ]
    for rank, k in enumerate(top, 1):
        lines.append(f"  {rank:>3}  {scores[k]:5.2f}  {counts[k]:>7,}  {_movie_columns(data, r.item_id(int(k)))}")
    print("\n".join(lines), file=out)
    if args.epochs:
        _demo_model(data, args, out)
    return 0


def _movie_columns(data, movie_id):
    movie = data.movies.get(movie_id)
    title = _shorten(movie.title if movie else str(movie_id), 50)
    return f"{title:<50}  {', '.join(movie.genres) if movie else ''}"


def _demo_model(data, args, out):
    train, test = train_test_split(data.ratings, test_size=0.2, random_state=0)
    print(f"\nMatrix factorization (ALS, {args.factors} factors) on a random 80/20 split: "
          f"{train.nnz:,} training / {test.nnz:,} test ratings", file=out, flush=True)
    model = MatrixFactorization(factors=args.factors, epochs=args.epochs, random_state=0, verbose=1)
    with contextlib.redirect_stdout(out):
        model.fit(train, validation=test)
    baseline = damped_mean_scores(train, args.damping)[test.item_indices]
    lo, hi = train.rating_range
    lines = [
        "",
        "Test RMSE",
        f"  damped mean baseline (m = {args.damping:g})  {rmse(test.values, np.clip(baseline, lo, hi)):.4f}",
        f"  matrix factorization            {model.score(test):.4f}",
    ]
    user = train.user_ids[0] if args.user is None else args.user
    popular = train.item_ids[train.item_counts() >= args.min_ratings]
    items, predicted = model.recommend(user, n=args.top, items=popular)
    lines += ["", f"Top {len(items)} unseen movies for user {user} among the {len(popular):,} movies with at least "
              f"{args.min_ratings} training ratings",
              f"  {'#':>3}  {'score':>5}  {'title':<50}  genres"]
    for rank, (movie_id, score) in enumerate(zip(items.tolist(), predicted.tolist()), 1):
        lines.append(f"  {rank:>3}  {score:5.2f}  {_movie_columns(data, movie_id)}")
    print("\n".join(lines), file=out)


# ---------------------------------------------------------------------- data
def _load_data(spec, args):
    """Ratings, titles (raw item id -> title) and a JSON description of the DATA argument ``spec``."""
    path = Path(spec).expanduser()
    if not path.exists() and _variant_name(spec) is None:
        names = ", ".join(d.name for d in list_datasets())
        raise FileNotFoundError(f"DATA {spec!r} is not a file, a folder or a MovieLens name ({names}); "
                                f"check the path")
    given = _column_options(args)
    if path.is_file() and path.suffix.lower() != ".zip":
        if not given and _base_name(path) in ("ratings.csv", "ratings.dat", "u.data") \
                and _release_variant(path.parent):
            return _load_release(spec, path.parent)
        return _load_file(spec, path, args)
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise _UsageError(f"{', '.join(given)} {verb} to a ratings file, but DATA {spec!r} is a MovieLens release")
    return _load_release(spec, path if path.exists() else None)


def _column_options(args):
    return [f"--{role}-col" for role in _HEADER_NAMES if getattr(args, f"{role}_col") is not None] + (
        ["--sep"] if args.sep is not None else [])  # fmt: skip


def _base_name(path):
    name = path.name
    return name[:-3] if name.endswith(".gz") else name


def _variant_name(text):
    """The MovieLens variant called ``text`` (``100k``, ``ml-100k``, ``ml-10M100K``), or None."""
    name = text.lower()
    name = name[:-4] if name.endswith(".zip") else name
    name = name[3:] if name.startswith("ml-") else name
    name = "10m" if name == "10m100k" else name
    return name if name in {d.name for d in list_datasets()} else None


def _has_files(folder, names):
    return all((folder / n).is_file() or (folder / (n + ".gz")).is_file() for n in names)


def _release_variant(path):
    """The MovieLens variant held by a folder or official zip (by its name, then its files), or None."""
    variant = _variant_name(path.name)
    if not path.is_dir():
        return variant
    if variant is not None:
        return variant if _has_files(path, _RELEASE_FILES[_RELEASE_LAYOUT.get(variant, "csv")]) else None
    return next((_LAYOUT_VARIANT[k] for k, names in _RELEASE_FILES.items() if _has_files(path, names)), None)


def _load_release(spec, path):
    """A MovieLens release from its folder or zip ``path``, or by name when ``path`` is None."""
    variant = _variant_name(spec) if path is None else _release_variant(path)
    if variant is None:
        raise FileNotFoundError(
            f"{path} is not a MovieLens release (a folder holding ratings.csv and movies.csv, ratings.dat and "
            f"movies.dat, or u.data, u.item and u.genre, or an official zip such as ml-100k.zip); "
            f"pass a ratings file instead"
        )
    if path is None:
        _announce_download(variant)
    data = load_movielens(variant, path)
    titles = {movie_id: movie.title for movie_id, movie in data.movies.items()}
    where = None if path is None else str(path.resolve())
    named = _variant_name(spec if path is None else path.name)  # None for a folder known only by its files
    source = {"data": spec, "kind": "movielens", "variant": named, "path": where}
    return _Loaded(data.ratings, titles, source)


def _announce_download(variant):
    info = next(d for d in list_datasets() if d.name == variant)
    if info.status == "not downloaded":
        print(f"mf: downloading MovieLens {variant} from {info.url} to {info.path}", file=sys.stderr, flush=True)


def _load_file(spec, path, args):
    """Ratings of a delimited file, with titles when its folder is a MovieLens release."""
    sep, fields = _sniff(path, args.sep)
    columns = _columns(fields, args)
    try:
        ratings = read_csv(path, columns["user"], columns["item"], columns["rating"], columns["timestamp"], sep=sep)
    except ValueError as exc:
        raise ValueError(f"{exc} (set the separator with --sep and the columns with --user-col, --item-col, "
                         f"--rating-col and --timestamp-col, 'none' for no column)") from None
    titles = _load_release(spec, path.parent).titles if _release_variant(path.parent) else {}
    source = {"data": spec, "kind": "file", "path": str(path.resolve()), "sep": sep, "columns": columns}
    return _Loaded(ratings, titles, source)


def _sniff(path, sep):
    """The separator (``sep``, or guessed) and the fields of the first non-blank line of a ratings file."""
    with open_binary(path) as (stream, _, _):
        head = stream.read(1 << 16)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = next((ln for ln in text.splitlines() if ln.strip()), None)
    if line is None:
        raise ValueError(f"{path} is empty: it holds no ratings")
    if sep is None:
        sep = next((s for s in _SEPARATORS if s in line), ",")
    return sep, [field.strip().strip('"') for field in line.split(sep)]


def _columns(fields, args):
    """Column of each role: the command-line choice, else by header name, else by position."""
    header = {field.lower(): field for field in fields}
    guess = {role: next((header[n] for n in names if n in header), None) for role, names in _HEADER_NAMES.items()}
    if guess["user"] is None or guess["item"] is None:
        n = len(fields)
        guess = {"user": 0, "item": 1, "rating": 2 if n > 2 else None, "timestamp": 3 if n > 3 else None}
    chosen = {}
    for role in _HEADER_NAMES:
        option = getattr(args, f"{role}_col")
        chosen[role] = guess[role] if option is None else None if option == _NO_COLUMN else option
    return chosen


def _training_ratings(model):
    """The interactions the model was fitted on (its ``user_items_``) as Ratings."""
    return Ratings.from_sparse(model.user_items_, model.user_map_.ids, model.item_map_.ids)


def _held_out(ratings, model):
    """``ratings`` without the (user, item) pairs the model was trained on, and how many were left out."""
    u, i = ratings.indices_in(model.user_map_, model.item_map_)
    known = (u >= 0) & (i >= 0)
    csr = model.user_items_
    n_items = np.int64(csr.shape[1])
    trained = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr)) * n_items + csr.indices
    seen = known & np.isin(u * n_items + i, trained)
    if seen.all():
        raise ValueError("DATA holds only ratings the model was trained on; pass held-out ratings")
    return ratings.subset(~seen), int(seen.sum())


def _split(ratings, args):
    """``(train, validation)`` as asked by ``--validation-split`` and ``--split`` (validation None without it)."""
    if args.validation_split is None:
        return ratings, None
    if args.split == "time" and ratings.timestamps is None:
        raise ValueError("--split time needs timestamps, but DATA has none; choose their column with "
                         "--timestamp-col or use --split random")
    return _SPLITS[args.split](ratings, args.validation_split, args.seed)


def _raw_id(text, idmap, what):
    """The model's raw id written as ``text``; ``KeyError`` when the model does not know it."""
    for convert in (int, float, str):
        try:
            raw = convert(text)
        except ValueError:
            continue
        if idmap.lookup([raw])[0] >= 0:
            return raw
    examples = ", ".join(str(v) for v in idmap.ids[:3].tolist())
    raise KeyError(f"{what} {text!r} is not in the model's training data; "
                   f"choose one of its {len(idmap):,} {what}s (e.g. {examples})")


def _titles(model, metadata, args):
    """Raw item id -> title: from ``--data`` when given, else as stored in the model file (empty if neither)."""
    if args.data is not None:
        return _load_data(args.data, args).titles
    stored = metadata.get("titles") or []
    return {item: title for item, title in zip(model.item_map_.ids.tolist(), stored) if title is not None}


# ---------------------------------------------------------------------- models and metrics
def _build_model(args):
    """The estimator ``--model`` names, with the options that apply to it; usage error for the others."""
    cls, fixed, options = _MODELS[args.model]
    given = {o: getattr(args, o) for o in _MODEL_OPTIONS if getattr(args, o) is not None}
    stray = [o for o in given if o not in options]
    if stray:
        takes = ", ".join(f"--{o}" for o in options)
        raise _UsageError(f"--{stray[0]} does not apply to --model {args.model} (it takes {takes})")
    model = cls(**fixed, **{options[o]: value for o, value in given.items()})
    common = {"random_state": args.seed, "n_threads": args.threads, "verbose": 0 if args.quiet else 1}
    model.set_params(**{k: v for k, v in common.items() if k in model.get_params()})
    try:
        model.check_params()
    except (TypeError, ValueError) as exc:
        raise _UsageError(f"--model {args.model}: {exc}") from None
    return model


def _default_metrics(model):
    if isinstance(model, _RATING_MODELS):
        return _Metric("rmse", None), _Metric("mae", None)
    return tuple(_Metric(name, _DEFAULT_K) for name in ("precision", "recall", "ndcg"))


def _check_metrics(model, metrics, error):
    """Raise ``error`` when ``metrics`` asks for predicted ratings from a model that only ranks."""
    asked = [m.key for m in metrics if m.name in _RATING_METRICS]
    if asked and not isinstance(model, _RATING_MODELS):
        verb = "needs" if len(asked) == 1 else "need"
        raise error(f"{' and '.join(asked)} {verb} predicted ratings, but {type(model).__name__} only ranks items; "
                    f"ask for ranking metrics such as ndcg@10, precision@10 or auc")


def _threshold(args, model):
    """Minimum held-out rating that counts as relevant: ``--threshold``, else the model's ``binarize``."""
    return args.threshold if args.threshold is not None else model.get_params().get("binarize")


def _score(model, train, test, metrics, threshold):
    """``{metric key: value}`` of ``model`` (fitted on ``train``) on the held-out ratings ``test``."""
    result = {}
    rating = [m for m in metrics if m.name in _RATING_METRICS]
    if rating:
        if test.implicit:
            raise ValueError("DATA holds no rating values, which rmse and mae need; choose the rating column "
                             "with --rating-col")
        predicted = model.predict(test.users, test.items)
        result.update({m.key: _RATING_METRICS[m.name](test.values, predicted) for m in rating})
    for k in sorted({m.k for m in metrics if m.name in RANKING_METRICS}):
        ranked = ranking(model, train, test, k=k, relevance_threshold=threshold)
        result.update({m.key: ranked[m.name] for m in metrics if m.k == k and m.name in RANKING_METRICS})
    if _Metric("auc", None) in metrics:
        result["auc"] = _auc(model, train, test, threshold)
    return {m.key: float(result[m.key]) for m in metrics}


def _auc(model, train, test, threshold):
    """Mean over users of the AUC (:func:`mf.metrics.auc`) of the model's scores of every item they did not
    train on, the relevant ones being their held-out items (rated ``>= threshold``) that the model knows."""
    relevant = test if threshold is None else test.subset(test.values >= threshold)
    u, i = relevant.indices_in(train.user_map, train.item_map)
    keep = (u >= 0) & (i >= 0)
    order = np.argsort(u[keep], kind="stable")
    u, i = u[keep][order], i[keep][order]
    n_items = train.n_items
    positives = np.bincount(u, minlength=train.n_users)
    trained = np.bincount(train.user_indices, minlength=train.n_users)
    users = np.flatnonzero((positives > 0) & (trained > 0) & (positives < n_items - trained))
    if users.size == 0:
        raise ValueError("no held-out user has both a relevant and a non-relevant item the model can rank, "
                         "so AUC is undefined")
    total = 0.0
    block = max(1, _AUC_CELLS // n_items)
    for start in range(0, users.size, block):
        rows = users[start:start + block]
        ids, scores = model.recommend(train.user_ids[rows], n=n_items)
        filled = np.isfinite(scores)
        at, cols = np.nonzero(filled)[0], train.item_map.lookup(np.asarray(ids[filled].tolist()))
        dense = np.zeros(scores.shape)
        dense[at, cols] = scores[filled]
        candidates = np.zeros(scores.shape, dtype=bool)
        candidates[at, cols] = True
        lo, hi = np.searchsorted(u, [rows[0], rows[-1] + 1])
        where = np.searchsorted(rows, u[lo:hi])
        mine = rows[np.minimum(where, rows.size - 1)] == u[lo:hi]
        held = sp.csr_matrix((np.ones(int(mine.sum())), (where[mine], i[lo:hi][mine])), shape=scores.shape)
        total += auc(dense, held, candidates=candidates, per_user=True)[1].sum()
    return total / users.size


# ---------------------------------------------------------------------- output
def _emit(args, out, payload, lines):
    """Print ``payload`` as JSON with ``--json``, else the text ``lines``."""
    print(json.dumps(payload, indent=2) if args.json else "\n".join(lines), file=out)


def _progress(args, message):
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _metric_lines(values):
    return [f"  {key:<14}{value:.4f}" for key, value in values.items()]


def _item_rows(ids, scores, titles, score_name):
    return [{"rank": rank, "item": item, score_name: round(score, 6), "title": titles.get(item)}
            for rank, (item, score) in enumerate(zip(ids.tolist(), scores.tolist()), 1)]  # fmt: skip


def _item_table(rows, score_name):
    width = max([4] + [len(str(row["item"])) for row in rows])
    lines = [f"  {'#':>3}  {score_name:>10}  {'item':>{width}}  title"]
    for row in rows:
        title = row["title"] if row["title"] is not None else "-"
        lines.append(f"  {row['rank']:>3}  {row[score_name]:>10.4f}  {str(row['item']):>{width}}  {title}")
    return lines


def _describe(model, metadata):
    """``Class (cli model name) trained on DATA`` from what the model file records."""
    name = metadata.get("model")
    data = (metadata.get("source") or {}).get("data")
    return type(model).__name__ + (f" ({name})" if name else "") + (f" trained on {data}" if data else "")


# ---------------------------------------------------------------------- commands
def _train(args, out):
    model = _build_model(args)
    _check_train_options(args, model)
    data = _load_data(args.data, args)
    if data.ratings.implicit and isinstance(model, _RATING_MODELS):
        raise ValueError(f"--model {args.model} learns from rating values, but DATA has none; use --model "
                         f"implicit-als or bpr, or choose the rating column with --rating-col")
    train, test = _split(data.ratings, args)
    seconds = _fit(args, model, train, test)
    validation = None
    if test is not None:
        scores = _score(model, train, test, args.metrics or _default_metrics(model), _threshold(args, model))
        validation = {"ratings": test.nnz, "split": args.split, "fraction": args.validation_split,
                      "seed": args.seed, "metrics": scores}
    titles = [data.titles.get(item) for item in model.item_map_.ids.tolist()] if data.titles else None
    save(model, args.out, {"model": args.model, "source": data.source, "titles": titles, "validation": validation})
    history = getattr(model, "history_", {})
    payload = {
        "model": args.model, "class": type(model).__name__, "params": model.get_params(),
        "data": data.source, "train": {"ratings": train.nnz, "users": train.n_users, "items": train.n_items},
        "seconds": round(seconds, 3),
        "final": {k: float(v[-1]) for k, v in history.items() if v and k not in ("epoch", "iteration", "seconds")},
        "validation": validation, "out": str(args.out),
    }  # fmt: skip
    _emit(args, out, payload, _train_lines(model, payload))
    return 0


def _check_train_options(args, model):
    """Usage errors in ``--metrics``, and an ``--out`` that cannot be written, before any data is read."""
    if args.metrics is not None:
        if args.validation_split is None:
            raise _UsageError("--metrics scores the validation part: add --validation-split, e.g. 0.2")
        _check_metrics(model, args.metrics, _UsageError)
    target = Path(args.out).expanduser()
    if target.is_dir():
        raise IsADirectoryError(f"--out {args.out} is a folder; give a file name such as {target / 'model.npz'}")
    if not target.resolve().parent.is_dir():
        raise FileNotFoundError(f"--out {args.out}: the folder {target.resolve().parent} does not exist; "
                                f"create it first")


def _fit(args, model, train, test):
    """Fit with the progress on stderr (per-epoch validation RMSE for matrix factorization); returns seconds."""
    _progress(args, f"Training {args.model} on {train.nnz:,} ratings ({train.n_users:,} users x "
                    f"{train.n_items:,} items)")
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        if test is not None and isinstance(model, MatrixFactorization):
            model.fit(train, validation=test)
        else:
            model.fit(train)
    if "verbose" in model.get_params():
        model.set_params(verbose=0)  # the saved model stays quiet
    return time.perf_counter() - start


def _train_lines(model, p):
    t = p["train"]
    lines = [f"Trained {model!r} in {p['seconds']:.2f} s on {t['ratings']:,} ratings "
             f"({t['users']:,} users x {t['items']:,} items)", *_metric_lines(p["final"])]
    v = p["validation"]
    if v is not None:
        lines += [f"Validation on {v['ratings']:,} held-out ratings ({v['split']} split of "
                  f"{100 * v['fraction']:g}%, seed {v['seed']})", *_metric_lines(v["metrics"])]
    return lines + [f"Saved to {p['out']}"]


def _evaluate(args, out):
    model, metadata = load(args.model, return_metadata=True)
    metrics = args.metrics or _default_metrics(model)
    _check_metrics(model, metrics, ValueError)
    data = _load_data(args.data, args)
    test, left_out = _held_out(data.ratings, model)
    scores = _score(model, _training_ratings(model), test, metrics, _threshold(args, model))
    payload = {"model": _describe(model, metadata), "data": data.source, "ratings": test.nnz,
               "left_out_training_ratings": left_out, "metrics": scores}
    lines = [f"{payload['model']}, scored on {test.nnz:,} held-out ratings of {args.data}"
             + (f" ({left_out:,} ratings it was trained on left out)" if left_out else ""), *_metric_lines(scores)]
    _emit(args, out, payload, lines)
    return 0


def _recommend(args, out):
    model, metadata = load(args.model, return_metadata=True)
    user = _raw_id(args.user, model.user_map_, "user")
    items, scores = model.recommend(user, n=args.n)
    rows = _item_rows(items, scores, _titles(model, metadata, args), "score")
    payload = {"model": _describe(model, metadata), "user": user, "items": rows}
    lines = [f"Top {len(rows)} items for user {user}, by {payload['model']}", *_item_table(rows, "score")]
    _emit(args, out, payload, lines)
    return 0


def _similar(args, out):
    model, metadata = load(args.model, return_metadata=True)
    item = _raw_id(args.item, model.item_map_, "item")
    titles = _titles(model, metadata, args)
    items, similarities = model.similar_items(item, n=args.n)
    rows = _item_rows(items, similarities, titles, "similarity")
    payload = {"model": _describe(model, metadata), "item": item, "title": titles.get(item), "items": rows}
    name = f"{item} ({titles[item]})" if item in titles else str(item)
    lines = [f"{len(rows)} items most similar to {name}, by {payload['model']}", *_item_table(rows, "similarity")]
    _emit(args, out, payload, lines)
    return 0


def _datasets(args, out):
    rows = [{"name": d.name, "status": d.status, "path": None if d.path is None else str(d.path),
             "description": d.description, "url": d.url} for d in list_datasets()]  # fmt: skip
    payload = {"data_home": str(data_home()), "datasets": rows}
    width = max(len(row["name"]) for row in rows)
    lines = [f"  {'name':<{width}}  {'status':<14}  description / path"]
    for row in rows:
        lines += [f"  {row['name']:<{width}}  {row['status']:<14}  {row['description']}",
                  f"  {'':<{width}}  {'':<14}  {row['path']}"]
    lines += ["", f"Downloads are kept in {payload['data_home']} (set MF_DATA_HOME to move them); a variant that is "
                  f"not downloaded is fetched the first time it is used as DATA."]
    _emit(args, out, payload, lines)
    return 0


# ---------------------------------------------------------------------- command line
class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _data_options():
    parser = _Parser(add_help=False)
    group = parser.add_argument_group("columns of a ratings file (guessed when not given)")
    group.add_argument("--sep", type=_separator, help="field separator, e.g. ',', '\\t' (or 'tab'), '::'")
    for role in ("user", "item"):
        group.add_argument(f"--{role}-col", type=_column, metavar="COL",
                           help=f"{role} id column: header name or 0-based position")
    group.add_argument("--rating-col", type=_optional_column, metavar="COL",
                       help="rating column, or 'none' to read implicit data")
    group.add_argument("--timestamp-col", type=_optional_column, metavar="COL", help="timestamp column, or 'none'")
    return parser


def _json_option():
    parser = _Parser(add_help=False)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _metric_options():
    parser = _Parser(add_help=False)
    group = parser.add_argument_group("metrics")
    group.add_argument(
        "--metrics", type=_metrics, metavar="LIST",
        help=f"comma-separated, from {', '.join(_METRIC_NAMES)}; ranking metrics take a cutoff @K (default "
             f"@{_DEFAULT_K}). Default: rmse,mae for rating models (als, sgd, adam, itemknn), else "
             f"precision@10,recall@10,ndcg@10",
    )  # fmt: skip
    group.add_argument(
        "--threshold", type=_number, metavar="T",
        help="held-out ratings >= this count as relevant for ranking metrics (default: the model's "
             "--binarize, else every held-out rating)",
    )  # fmt: skip
    return parser


_EVALUATE_HELP = """\
Score a saved model on held-out ratings.

DATA holds the held-out ratings (a ratings file, MovieLens folder or name, as
for 'mf train'). The ratings the model was trained on are part of the model
file (its training interactions); every (user, item) pair of DATA that is
among them is left out, so DATA may be a separate test file (ml-100k's
u1.test for a model trained on u1.base) or the very data a model was trained
on with 'mf train --validation-split': what remains is then exactly the
held-out part. Ranking metrics rank, for each user with a relevant held-out
item, all the items the model knows except the user's training items.

rmse and mae compare predicted with held-out ratings (rating models only;
a user or item the model does not know gets its fallback prediction, the
mean rating plus the known biases); precision, recall, ndcg, map and hit_rate at K and mrr (within the first K)
are those of mf.evaluate.ranking; auc is the mean per-user AUC of the full
ranking (mf.metrics.auc).
"""


def _add_train(commands):
    train = commands.add_parser(
        "train", parents=[_data_options(), _metric_options(), _json_option()],
        help="fit a model on ratings and save it",
        description="Fit a model on DATA and save it as one .npz file, with its data source and the titles of "
                    "its items. Progress goes to stderr, the summary to stdout.",
    )  # fmt: skip
    train.add_argument("data", metavar="DATA", help=_DATA_HELP)
    train.add_argument("--model", choices=list(_MODELS), default="als",
                       help="als, sgd or adam: matrix factorization of ratings; implicit-als or bpr: implicit "
                            "feedback; itemknn: item neighbours (default als)")
    train.add_argument("--out", "-o", required=True, metavar="FILE", help="model file to write (.npz)")
    group = train.add_argument_group("model options (each applies to the models named)")
    group.add_argument("--factors", type=_positive_int, metavar="K",
                       help="latent factors (all but itemknn; default 64)")
    group.add_argument("--epochs", type=_positive_int, metavar="N",
                       help="passes or iterations (all but itemknn; default 15 als, 40 sgd, 30 adam, "
                            "15 implicit-als, 100 bpr)")
    group.add_argument("--reg", type=_non_negative, metavar="R", help="L2 regularisation (all but itemknn)")
    group.add_argument("--lr", type=_positive, metavar="LR", help="learning rate (sgd, adam, bpr)")
    group.add_argument("--alpha", type=_positive, metavar="A",
                       help="confidence slope c = 1 + alpha * r (implicit-als)")
    group.add_argument("--binarize", type=_number, metavar="T",
                       help="ratings >= this become positives, the others are dropped (implicit-als, bpr)")
    group.add_argument("--neighbors", type=_positive_int, metavar="K",
                       help="neighbours per prediction (itemknn; default 40)")
    group.add_argument("--threads", type=_positive_int, metavar="T", help="threads (default: all cores)")
    group.add_argument("--seed", type=_count, default=0, metavar="S",
                       help="seed of the initial factors, the sampling and the split (default 0)")
    group = train.add_argument_group("validation")
    group.add_argument("--validation-split", type=_fraction, metavar="F",
                       help="hold out this fraction of the ratings, train on the rest and score it (see --metrics)")
    group.add_argument("--split", choices=list(_SPLITS), default="random",
                       help="how to hold out: random ratings, a part of each user's ratings, or the latest "
                            "ratings (default random)")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    train.set_defaults(run=_train)


def _add_model_commands(commands):
    evaluate = commands.add_parser(
        "evaluate", parents=[_data_options(), _metric_options(), _json_option()],
        help="score a saved model on held-out ratings", description=_EVALUATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    evaluate.add_argument("model", metavar="MODEL", help="model file written by 'mf train'")
    evaluate.add_argument("data", metavar="DATA", help="held-out " + _DATA_HELP)
    evaluate.set_defaults(run=_evaluate)
    for name, option, run, what in (("recommend", "--user", _recommend, "the best items for a user"),
                                    ("similar", "--item", _similar, "the items most similar to an item")):
        command = commands.add_parser(
            name, parents=[_data_options(), _json_option()], help=what,
            description=f"List {what} of the model's training data, with titles when the data has them "
                        f"(MovieLens): those recorded in the model file by 'mf train', or those of --data.",
        )  # fmt: skip
        command.add_argument("model", metavar="MODEL", help="model file written by 'mf train'")
        command.add_argument(option, required=True, metavar="ID", help=f"raw {option[2:]} id, as in the data")
        command.add_argument("-n", type=_positive_int, default=10, help="how many items (default 10)")
        command.add_argument("--data", metavar="DATA", help="take titles from this " + _DATA_HELP)
        command.set_defaults(run=run)
    datasets = commands.add_parser(
        "datasets", parents=[_json_option()], help="list the MovieLens variants and where they are",
        description="List the MovieLens variants: bundled, cached (downloaded before) or not downloaded, "
                    "with their paths.",
    )  # fmt: skip
    datasets.set_defaults(run=_datasets)


def _add_demo(commands):
    demo = commands.add_parser(
        "demo",
        help="summarise the bundled MovieLens data and list the best-rated movies",
        description="Summarise the bundled MovieLens ratings (ml-latest-small) and list the movies with "
        "the highest damped mean rating.",
    )
    demo.add_argument("--top", type=_positive_int, default=10, help="how many movies to list (default 10)")
    demo.add_argument(
        "--damping", "-m", type=_non_negative, default=10.0,
        help="pseudo-ratings at the global mean added to every movie (default 10)",
    )  # fmt: skip
    demo.add_argument("--epochs", type=_count, default=15,
                      help="ALS iterations of the matrix-factorization part; 0 skips it (default 15)")
    demo.add_argument("--factors", type=_positive_int, default=64, help="latent factors (default 64)")
    demo.add_argument("--user", type=int, default=None,
                      help="MovieLens user id to recommend for (default: the first user)")
    demo.add_argument("--min-ratings", type=_positive_int, default=20,
                      help="recommend only movies with at least this many training ratings (default 20)")
    demo.set_defaults(run=_demo)


def _parser():
    parser = _Parser(
        prog="mf",
        description="Matrix factorization for recommendation (numpy, scipy, numba).",
        epilog="DATA is a ratings file (CSV, TSV, '::'; columns guessed or set with --sep and --user-col, "
               "--item-col, --rating-col, --timestamp-col), a MovieLens release folder or zip, or a MovieLens "
               "name (latest-small is bundled; see 'mf datasets'). Exit status: 0 ok, 1 data error, 2 usage error.",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"mf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
    _add_demo(commands)
    _add_train(commands)
    _add_model_commands(commands)
    return parser


@contextlib.contextmanager
def _warnings_as_lines(command):
    """Show each warning as one ``mf <command>: warning: ...`` line on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"mf {command}: warning: {_one_line(message)}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _one_line(problem):
    """An exception's or a warning's message on one line (a KeyError's without the quotes repr adds)."""
    message = problem.args[0] if isinstance(problem, KeyError) and problem.args else problem
    return " ".join(str(message).split())


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Examples
    --------
    >>> main(["recommend", "--user", "1"])
    2
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with _warnings_as_lines(args.command):
            return args.run(args, sys.stdout)
    except _UsageError as exc:
        print(f"mf {args.command}: error: {_one_line(exc)}; see 'mf {args.command} --help'", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, FloatingPointError) as exc:
        print(f"mf {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mf {args.command}: interrupted", file=sys.stderr)
        return 130
