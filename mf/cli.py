"""The ``mf`` command line (``mf <command>`` or ``python -m mf <command>``).

Commands
--------
demo
    Summarise the bundled MovieLens ratings, list the best-rated movies, train
    a matrix factorization on an 80/20 split and recommend movies for a user.

Exit status: 0 on success, 1 for a data error, 2 for a usage error.
"""

import argparse
import contextlib
import math
import numbers
import sys

import numpy as np

from . import __version__
from .data.movielens import load_movielens
from .data.ratings import Ratings
from .data.splits import train_test_split
from .metrics import rmse
from .models import MatrixFactorization

__all__ = ["damped_mean_scores", "main"]


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


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


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


def _parser():
    parser = argparse.ArgumentParser(
        prog="mf",
        description="Matrix factorization for recommendation (numpy, scipy, numba).",
    )
    parser.add_argument("--version", action="version", version=f"mf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
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
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.run(args, sys.stdout)
    except (OSError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mf {args.command}: error: {message}", file=sys.stderr)
        return 1
