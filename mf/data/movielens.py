"""MovieLens rating data sets: the bundled ml-latest-small and on-demand downloads."""

import csv
import gzip
import hashlib
import http.client
import io
import logging
import os
import re
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple, Optional

from .readers import read_csv

__all__ = ["Dataset", "DatasetInfo", "DownloadError", "Movie", "data_home", "list_datasets", "load_movielens"]

logger = logging.getLogger(__name__)

_BUNDLED = Path(__file__).resolve().parent / "movielens_small"
_BASE_URL = "https://files.grouplens.org/datasets/movielens/"


class _Variant(NamedTuple):
    archive: str  # file name of the official zip
    folder: str  # top folder inside the zip
    layout: str  # "csv", "dat" or "100k"
    movies_encoding: str  # of the movie catalogue
    description: str


_VARIANTS = {
    "latest-small": _Variant("ml-latest-small.zip", "ml-latest-small", "csv", "utf-8",
                             "100,836 ratings, 610 users, 9,742 movies (bundled; 2018)"),
    "100k": _Variant("ml-100k.zip", "ml-100k", "100k", "latin-1",
                     "100,000 ratings, 943 users, 1,682 movies (1998)"),
    "1m": _Variant("ml-1m.zip", "ml-1m", "dat", "latin-1",
                   "1,000,209 ratings, 6,040 users, 3,706 movies (2003)"),
    "10m": _Variant("ml-10m.zip", "ml-10M100K", "dat", "utf-8",
                    "10,000,054 ratings, 69,878 users, 10,677 movies (2009)"),
    "20m": _Variant("ml-20m.zip", "ml-20m", "csv", "utf-8",
                    "20,000,263 ratings, 138,493 users, 27,278 movies (2015)"),
    "25m": _Variant("ml-25m.zip", "ml-25m", "csv", "utf-8",
                    "25,000,095 ratings, 162,541 users, 62,423 movies (2019)"),
    "latest": _Variant("ml-latest.zip", "ml-latest", "csv", "utf-8",
                       "over 27M ratings; changes with each GroupLens release"),
}  # fmt: skip

# SHA-256 of the official zips. A download is checked against its entry when
# one is recorded; None means "not yet verified": the zip is then only checked
# to be a readable archive holding the expected files. "latest" changes with
# every release and can have no fixed checksum.
_SHA256 = {
    "100k": None,
    "1m": None,
    "10m": None,
    "20m": None,
    "25m": None,
    "latest": None,
}


class DownloadError(OSError):
    """A data set could not be downloaded, or the download failed its checks.

    A subclass of ``OSError``, so ``except OSError`` also catches it.

    Examples
    --------
    >>> issubclass(DownloadError, OSError)
    True
    >>> raise DownloadError("could not download MovieLens 1m")
    Traceback (most recent call last):
    ...
    mf.data.movielens.DownloadError: could not download MovieLens 1m
    """


class Movie(NamedTuple):
    """Catalogue record of one movie.

    Examples
    --------
    >>> movie = Movie("Heat (1995)", ("Action", "Crime"), 1995)
    >>> movie.title, movie.year
    ('Heat (1995)', 1995)
    """

    title: str
    genres: tuple
    year: Optional[int]


class DatasetInfo(NamedTuple):
    """One entry of :func:`list_datasets`.

    Examples
    --------
    >>> info = list_datasets()[0]
    >>> info.name, info.status, info.url
    ('latest-small', 'bundled', None)
    """

    name: str
    description: str
    status: str  # "bundled", "cached" or "not downloaded"
    path: Optional[Path]
    url: Optional[str]
    sha256: Optional[str]


class Dataset:
    """Ratings with their movie catalogue.

    Attributes
    ----------
    name : str
        The MovieLens release, e.g. ``"ml-latest-small"``.
    ratings : Ratings
        The ratings, with timestamps (Unix seconds).
    movies : dict
        Raw movie id -> :class:`Movie` ``(title, genres, year)``, for every
        movie of the catalogue (some may have no rating).
    source : pathlib.Path
        The folder or zip file the data were read from.

    Examples
    --------
    >>> ml = load_movielens()
    >>> ml.title(1), ml.movies[1].genres[:2], ml.movies[1].year
    ('Toy Story (1995)', ('Adventure', 'Animation'), 1995)
    """

    def __init__(self, name, ratings, movies, source):
        self.name = name
        self.ratings = ratings
        self.movies = movies
        self.source = source

    def title(self, movie_id):
        """Title of a movie (``KeyError`` naming the id when it is not in the catalogue).

        Examples
        --------
        >>> from mf import Ratings
        >>> ds = Dataset("demo", Ratings([1], [6], [4.0]), {6: Movie("Heat (1995)", ("Action",), 1995)}, None)
        >>> ds.title(6)
        'Heat (1995)'
        >>> ds.title(7)
        Traceback (most recent call last):
        ...
        KeyError: 'movie id 7 is not in the demo catalogue'
        """
        try:
            return self.movies[movie_id].title
        except KeyError:
            raise KeyError(f"movie id {movie_id!r} is not in the {self.name} catalogue") from None

    def __repr__(self):
        r = self.ratings
        return (
            f"Dataset({self.name}: {r.nnz:,} ratings, {r.n_users:,} users, "
            f"{r.n_items:,} rated movies, {len(self.movies):,} in the catalogue)"
        )


def data_home():
    """Folder where downloaded data sets are kept.

    ``$MF_DATA_HOME`` when set, else the platform's user cache folder:
    ``~/.cache/mf`` (or ``$XDG_CACHE_HOME/mf``) on Linux,
    ``~/Library/Caches/mf`` on macOS, ``%LOCALAPPDATA%\\mf`` on Windows.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"MF_DATA_HOME": "/srv/mf-data"}):
    ...     print(data_home().as_posix())
    /srv/mf-data
    """
    env = os.environ.get("MF_DATA_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mf"


def _variant(variant):
    key = str(variant).lower()
    key = key[3:] if key.startswith("ml-") else key
    if key not in _VARIANTS:
        raise ValueError(f"unknown MovieLens variant {variant!r}; choose one of {list(_VARIANTS)}")
    return key


def list_datasets():
    """The MovieLens variants :func:`load_movielens` knows, and where each one is.

    Returns
    -------
    list of DatasetInfo
        ``(name, description, status, path, url, sha256)`` per variant;
        ``status`` is ``"bundled"``, ``"cached"`` (downloaded before, at
        ``path``) or ``"not downloaded"`` (``path`` is where the zip would
        go). ``sha256`` is None where no checksum is recorded.

    Examples
    --------
    >>> info = list_datasets()[0]
    >>> info.name, info.status
    ('latest-small', 'bundled')
    """
    infos = []
    for name, v in _VARIANTS.items():
        if name == "latest-small":
            infos.append(DatasetInfo(name, v.description, "bundled", _BUNDLED, None, None))
            continue
        path = data_home() / v.archive
        status = "cached" if path.is_file() else "not downloaded"
        infos.append(DatasetInfo(name, v.description, status, path, _BASE_URL + v.archive, _SHA256[name]))
    return infos


# ---------------------------------------------------------------------- files
class _Files:
    """Opens the files of one release from a folder or a zip, wherever they sit inside."""

    def __init__(self, path, folder):
        self.path = Path(path)
        self.zip = None
        if self.path.is_dir():
            nested = self.path / folder
            self.root = nested if nested.is_dir() else self.path
        elif self.path.is_file():
            try:
                self.zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile:
                raise ValueError(
                    f"{self.path} is not a zip archive; pass the official zip or the folder it unpacks to"
                ) from None
            self.members = {}
            for info in self.zip.infolist():
                base = info.filename.rsplit("/", 1)[-1]
                if base and not info.filename.startswith("__MACOSX") and not base.startswith("._"):
                    self.members.setdefault(base, info)
        else:
            raise FileNotFoundError(f"{self.path} does not exist")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.zip is not None:
            self.zip.close()

    def has(self, name):
        if self.zip is not None:
            return name in self.members
        return (self.root / name).is_file() or (self.root / (name + ".gz")).is_file()

    def open(self, name):
        """Binary stream of ``name`` (or of ``name.gz`` in a folder)."""
        if self.zip is not None:
            if name not in self.members:
                raise FileNotFoundError(f"{self.path} holds no file named {name}")
            return self.zip.open(self.members[name])
        if (self.root / name).is_file():
            return open(self.root / name, "rb")
        if (self.root / (name + ".gz")).is_file():
            return gzip.open(self.root / (name + ".gz"), "rb")
        raise FileNotFoundError(f"{self.root} holds no file named {name} (nor {name}.gz)")

    def text(self, name, encoding):
        return io.TextIOWrapper(self.open(name), encoding=encoding, newline="")

    def require(self, names, variant):
        missing = [n for n in names if not self.has(n)]
        if missing:
            where = self.path if self.zip is not None else self.root
            raise FileNotFoundError(f"{where} does not hold the MovieLens {variant} files {missing}")


_YEAR = re.compile(r"\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")


def _year(title):
    match = _YEAR.search(title)
    return int(match.group(1)) if match else None


def _movie(title, genres):
    title = title.strip()
    return Movie(title, tuple(genres), _year(title))


def _table(numbered, name, expected, parse):
    """Dict of ``parse(item) -> (key, value)`` over ``(line number, item)``; errors name the file and line."""
    table = {}
    for number, item in numbered:
        try:
            key, value = parse(item)
        except ValueError:
            raise ValueError(f"{name}, line {number}: expected {expected}, got {item!r}") from None
        table[key] = value
    return table


def _lines(f):
    return ((number, line.rstrip("\r\n")) for number, line in enumerate(f, 1) if line.strip())


def _csv_movie(row):
    movie_id, title, genres = row
    return int(movie_id), _movie(title, [] if genres == "(no genres listed)" else genres.split("|"))


def _dat_movie(line):
    movie_id, rest = line.split("::", 1)
    title, genres = rest.rsplit("::", 1)
    return int(movie_id), _movie(title, genres.split("|") if genres else [])


def _genre(line):
    name, index = line.rsplit("|", 1)
    return int(index), name


def _read_csv_layout(files, encoding):
    with files.open("ratings.csv") as f:
        ratings = read_csv(f, "userId", "movieId", "rating", "timestamp", header=True)
    with files.text("movies.csv", encoding) as f:
        rows = csv.reader(f)
        next(rows, None)
        movies = _table(((rows.line_num, row) for row in rows if row), "movies.csv", "movieId,title,genres", _csv_movie)
    return ratings, movies


def _read_dat_layout(files, encoding):
    with files.open("ratings.dat") as f:
        ratings = read_csv(f, 0, 1, 2, 3, sep="::", header=False)
    with files.text("movies.dat", encoding) as f:
        movies = _table(_lines(f), "movies.dat", "MovieID::Title::Genres", _dat_movie)
    return ratings, movies


def _read_100k_layout(files, encoding):
    with files.open("u.data") as f:
        ratings = read_csv(f, 0, 1, 2, 3, sep="\t", header=False)
    with files.text("u.genre", encoding) as f:
        genre_names = _table(_lines(f), "u.genre", "name|index", _genre)
    names = [genre_names[k] for k in sorted(genre_names)]

    def item(line):
        fields = line.split("|")
        if len(fields) != 5 + len(names):
            raise ValueError(line)
        genres = [g for g, flag in zip(names, fields[5:]) if flag == "1" and g != "unknown"]
        return int(fields[0]), _movie(fields[1], genres)

    with files.text("u.item", encoding) as f:
        movies = _table(_lines(f), "u.item", f"{5 + len(names)} fields separated by '|'", item)
    return ratings, movies


def _read_release(variant, path):
    v = _VARIANTS[variant]
    with _Files(path, v.folder) as files:
        if v.layout == "csv":
            files.require(["ratings.csv", "movies.csv"], variant)
            ratings, movies = _read_csv_layout(files, v.movies_encoding)
        elif v.layout == "dat":
            files.require(["ratings.dat", "movies.dat"], variant)
            ratings, movies = _read_dat_layout(files, v.movies_encoding)
        else:
            files.require(["u.data", "u.item", "u.genre"], variant)
            ratings, movies = _read_100k_layout(files, v.movies_encoding)
    return Dataset(f"ml-{variant}", ratings, movies, Path(path))


# ---------------------------------------------------------------------- downloads
def _manual_hint(variant, dest):
    url = _BASE_URL + _VARIANTS[variant].archive
    return (
        f"download {url} on a machine with internet access and save it as {dest} "
        f"(or set MF_DATA_HOME to another folder), or pass path= to the zip or the folder it unpacks to"
    )


def _download(variant, url, dest):
    """Fetch ``url`` into ``dest`` through a temporary file; only a checked zip is kept."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = _SHA256.get(variant)
    logger.info("downloading %s to %s", url, dest)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except (OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(
                    f"could not download MovieLens {variant} from {url} ({reason}); {_manual_hint(variant, dest)}"
                ) from None
        if expected is not None and digest.hexdigest() != expected:
            raise DownloadError(
                f"the download of {url} has SHA-256 {digest.hexdigest()}, expected {expected}; "
                f"the corrupt file was deleted, nothing was cached. Retry, or {_manual_hint(variant, dest)}"
            )
        if not zipfile.is_zipfile(tmp):
            raise DownloadError(
                f"the download of {url} is not a zip archive; it was deleted, nothing was cached. "
                f"Retry, or {_manual_hint(variant, dest)}"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if expected is None:
        logger.info("%s has SHA-256 %s (no recorded checksum to compare)", dest.name, digest.hexdigest())
    return dest


def load_movielens(variant="latest-small", path=None, *, download=True):
    """Load a MovieLens release: ratings with timestamps, and the movie catalogue.

    Parameters
    ----------
    variant : str
        ``"latest-small"`` (bundled with mf, works offline), ``"100k"``,
        ``"1m"``, ``"10m"``, ``"20m"``, ``"25m"`` or ``"latest"``. An
        ``"ml-"`` prefix is accepted (``"ml-100k"``).
    path : str or path-like, optional
        The release's official zip, or the folder it unpacks to (or a folder
        holding that folder). When omitted, the zip is taken from the cache
        folder (:func:`data_home`) and downloaded from GroupLens into it on
        first use.
    download : bool
        Whether a release missing from the cache may be downloaded.

    Returns
    -------
    Dataset
        ``.ratings`` (:class:`~mf.Ratings`), ``.movies`` (movie id ->
        :class:`Movie`), ``.name``, ``.source`` and ``.title(movie_id)``.

    Raises
    ------
    ValueError
        For an unknown variant, or a path that is not a zip or folder.
    FileNotFoundError
        When the files are not where ``path`` says, or the release is not
        cached and ``download=False``; the message says where to put the zip.
    DownloadError
        When the download fails or the file fails its checks; nothing is
        left in the cache then.

    Notes
    -----
    Titles are as in the files, year included (``"Toy Story (1995)"``), less
    surrounding spaces; ``Movie.year`` holds the year as an int (None where a
    title has none).
    Genres are a tuple of names (empty for ``"(no genres listed)"`` and for
    ml-100k's ``unknown`` flag). Downloads of 25M ratings need a few
    hundred MB of disk.

    Examples
    --------
    >>> ml = load_movielens("latest-small")
    >>> ml.ratings
    Ratings(610 users x 9,724 items, 100,836 ratings, density 1.70%, values 0.5..5)
    >>> len(ml.movies)
    9742
    """
    key = _variant(variant)
    if path is not None:
        hint = f"pass the official zip of MovieLens {key} or the folder it unpacks to"
        return _read_explained(key, Path(path), hint, FileNotFoundError)
    if key == "latest-small":
        return _read_explained(key, _BUNDLED, "the copy bundled with mf is incomplete: reinstall mf", FileNotFoundError)
    archive = data_home() / _VARIANTS[key].archive
    if not archive.is_file():
        if not download:
            raise FileNotFoundError(f"MovieLens {key} is not in the cache; {_manual_hint(key, archive)}")
        _download(key, _BASE_URL + _VARIANTS[key].archive, archive)
    hint = f"the cached file may be damaged: delete {archive} to download it again"
    return _read_explained(key, archive, hint, (FileNotFoundError, ValueError))


def _read_explained(variant, path, hint, errors):
    """Read a release; an error of the types ``errors`` gets ``hint`` appended."""
    try:
        return _read_release(variant, path)
    except errors as exc:
        raise type(exc)(f"{exc}; {hint}") from None
