import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mf.data import movielens
from mf.datasets import DownloadError, Movie, data_home, list_datasets, load_movielens

ML_100K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ml-100k"

GENRES_100K = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
               "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
               "War", "Western"]  # fmt: skip

# (user, movie, rating, timestamp) rows shared by every fixture
ROWS = [(1, 1, 5.0, 874965758), (1, 2, 3.0, 876893171), (2, 1, 4.0, 878542960), (3, 3, 1.0, 876893119)]
TITLES = {1: "Toy Story (1995)", 2: "Misérables, Les (1995)", 3: "American President, The (1995)"}


def flags(*names):
    return "|".join("1" if g in names else "0" for g in GENRES_100K)


def write_100k(folder):
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in ROWS))
    (folder / "u.genre").write_text("".join(f"{g}|{k}\n" for k, g in enumerate(GENRES_100K)) + "\n")
    items = [
        f"1|{TITLES[1]}|01-Jan-1995||http://x|{flags('Animation', 'Comedy')}",
        f"2|{TITLES[2]}|01-Jan-1995||http://x|{flags('Drama')}",
        f"3|{TITLES[3]}|01-Jan-1995||http://x|{flags('unknown')}",
        f"4|unknown|||http://x|{flags('unknown')}",
    ]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    return folder


def write_dat(folder, encoding, half_stars=False):
    folder.mkdir(parents=True)
    ratings = [(u, i, r - 0.5 if half_stars and r > 1 else r, t) for u, i, r, t in ROWS]
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{r:g}::{t}\n" for u, i, r, t in ratings))
    movies = [f"1::{TITLES[1]}::Animation|Children's|Comedy", f"2::{TITLES[2]}::Drama", f"3::{TITLES[3]}::Comedy|Drama"]
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode(encoding))
    return folder


def write_csv(folder):
    folder.mkdir(parents=True)
    lines = ["userId,movieId,rating,timestamp"] + [f"{u},{i},{r:g},{t}" for u, i, r, t in ROWS]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    movies = [
        "movieId,title,genres",
        f"1,{TITLES[1]},Adventure|Animation",
        f'2,"{TITLES[2]}",Drama',
        f'3,"{TITLES[3]}",Comedy|Drama|Romance',
        "4,Hyena Road,(no genres listed)",
    ]
    (folder / "movies.csv").write_text("\r\n".join(movies) + "\r\n", encoding="utf-8")
    return folder


def zip_folder(folder, archive):
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.iterdir()):
            z.write(path, f"{folder.name}/{path.name}")
    return archive


RELEASES = {  # variant -> (folder name in the official zip, writer)
    "100k": ("ml-100k", write_100k),
    "1m": ("ml-1m", lambda f: write_dat(f, "latin-1")),
    "10m": ("ml-10M100K", lambda f: write_dat(f, "utf-8", half_stars=True)),
    "20m": ("ml-20m", write_csv),
    "25m": ("ml-25m", write_csv),
    "latest": ("ml-latest", write_csv),
}


def check_fixture(data, variant):
    r = data.ratings
    assert data.name == f"ml-{variant}"
    assert (r.nnz, r.n_users, r.n_items) == (4, 3, 3)
    assert r.timestamps is not None and r.timestamps.dtype == np.int64
    expected = sorted((u, i, t) for u, i, _, t in ROWS)
    assert sorted(zip(r.users.tolist(), r.items.tolist(), r.timestamps.tolist())) == expected
    if variant == "10m":
        assert sorted(r.values.tolist()) == [1.0, 2.5, 3.5, 4.5]
    else:
        assert sorted(r.values.tolist()) == [1.0, 3.0, 4.0, 5.0]
    for movie_id, title in TITLES.items():
        assert data.title(movie_id) == title
        assert data.movies[movie_id].year == 1995


# ---------------------------------------------------------------------- bundled data
@pytest.fixture(scope="module")
def bundled():
    return load_movielens()


def test_bundled_latest_small_counts(bundled):
    data = bundled
    r = data.ratings
    assert (r.nnz, r.n_users, r.n_items, len(data.movies)) == (100_836, 610, 9_724, 9_742)
    assert data.name == "ml-latest-small"
    assert r.timestamps.min() == 828124615 and r.timestamps.max() == 1537799250
    assert r.rating_range == (0.5, 5.0)
    assert set(r.item_ids.tolist()) <= set(data.movies)


def test_bundled_movie_records(bundled):
    data = bundled
    toy_story = Movie("Toy Story (1995)", ("Adventure", "Animation", "Children", "Comedy", "Fantasy"), 1995)
    assert data.movies[1] == toy_story
    assert data.title(11) == "American President, The (1995)"  # quoted title with a comma
    assert data.movies[40697] == Movie("Babylon 5", ("Sci-Fi",), None)  # no year in the title
    assert data.movies[27008].title == "From Dusk Till Dawn 2: Texas Blood Money (1999)"  # trailing space dropped
    assert data.movies[27008].year == 1999
    assert all(isinstance(g, str) and g for m in data.movies.values() for g in m.genres)
    assert sum(m.year is not None for m in data.movies.values()) > 9_700


def test_title_of_unknown_movie(bundled):
    with pytest.raises(KeyError, match="movie id 0 is not in the ml-latest-small catalogue"):
        bundled.title(0)


def test_variant_names():
    assert load_movielens("ML-Latest-Small").name == "ml-latest-small"
    with pytest.raises(ValueError, match=r"unknown MovieLens variant '2m'; choose one of \['latest-small', '100k'"):
        load_movielens("2m")


@pytest.mark.skipif(not ML_100K.is_dir(), reason="ml-100k is not in ../shared/data")
def test_real_100k_counts():
    data = load_movielens("100k", path=ML_100K)
    r = data.ratings
    assert (r.nnz, r.n_users, r.n_items, len(data.movies)) == (100_000, 943, 1_682, 1_682)
    assert np.bincount(r.values.astype(int))[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    assert data.movies[1] == Movie("Toy Story (1995)", ("Animation", "Children's", "Comedy"), 1995)
    assert data.title(543) == "Misérables, Les (1995)"  # latin-1 in u.item


# ---------------------------------------------------------------------- every layout, folder and zip
@pytest.mark.parametrize("variant", list(RELEASES))
@pytest.mark.parametrize("form", ["folder", "parent", "zip"])
def test_release_layouts(tmp_path, variant, form):
    name, write = RELEASES[variant]
    folder = write(tmp_path / name)
    path = {"folder": folder, "parent": tmp_path, "zip": zip_folder(folder, tmp_path / "release.zip")}[form]
    data = load_movielens(variant, path=str(path))
    check_fixture(data, variant)
    assert data.source == Path(path)


def test_layout_genres(tmp_path):
    hundred = load_movielens("100k", path=write_100k(tmp_path / "a"))
    assert hundred.movies[1].genres == ("Animation", "Comedy")
    assert hundred.movies[3].genres == () and hundred.movies[4] == Movie("unknown", (), None)
    dat = load_movielens("1m", path=write_dat(tmp_path / "b", "latin-1"))
    assert dat.movies[1].genres == ("Animation", "Children's", "Comedy")
    csv = load_movielens("25m", path=write_csv(tmp_path / "c"))
    assert csv.movies[3].genres == ("Comedy", "Drama", "Romance") and csv.movies[4] == Movie("Hyena Road", (), None)


def test_wrong_encoding_would_garble_titles(tmp_path):
    """1m's movies.dat is latin-1 and 10m's UTF-8: each is decoded with its own encoding."""
    data = load_movielens("10m", path=write_dat(tmp_path / "ml-10M100K", "utf-8"))
    assert data.title(2) == TITLES[2]
    data = load_movielens("1m", path=write_dat(tmp_path / "ml-1m", "latin-1"))
    assert data.title(2) == TITLES[2]


def test_missing_files(tmp_path):
    folder = write_csv(tmp_path / "ml-20m")
    (folder / "movies.csv").unlink()
    match = r"does not hold the MovieLens 20m files \['movies.csv'\]; pass the official zip of MovieLens 20m or"
    with pytest.raises(FileNotFoundError, match=match):
        load_movielens("20m", path=folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_movielens("20m", path=tmp_path / "nowhere")


def test_path_that_is_not_a_zip(tmp_path):
    path = tmp_path / "ml-1m.zip"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="is not a zip archive"):
        load_movielens("1m", path=path)


@pytest.mark.parametrize(
    "variant, file, line, match",
    [
        ("1m", "movies.dat", "5 Toy Story 2", r"movies.dat, line 4: expected MovieID::Title::Genres, got '5 Toy Story 2'"),
        ("100k", "u.item", "5|Copycat (1995)", r"u.item, line 5: expected 24 fields separated by '\|'"),
        ("100k", "u.genre", "Action", r"u.genre, line 21: expected name\|index, got 'Action'"),
        ("20m", "movies.csv", "five,Copycat (1995),Drama", r"movies.csv, line 6: expected movieId,title,genres"),
    ],
)
def test_bad_catalogue_line(tmp_path, variant, file, line, match):
    name, write = RELEASES[variant]
    folder = write(tmp_path / name)
    with open(folder / file, "a", newline="") as f:
        f.write(line + "\n")
    with pytest.raises(ValueError, match=match):
        load_movielens(variant, path=folder)


def test_bad_rating_row_names_the_file_and_line(tmp_path):
    folder = write_100k(tmp_path / "ml-100k")
    with open(folder / "u.data", "a") as f:
        f.write("4\t1\tfive\t874965758\n")
    with pytest.raises(ValueError, match=r"u.data, line 5: rating 'five'"):
        load_movielens("100k", path=folder)


# ---------------------------------------------------------------------- cache and downloads
@pytest.fixture
def server(tmp_path, monkeypatch):
    """A fake GroupLens: zips served from a folder through file:// URLs; an empty cache."""
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setattr(movielens, "_BASE_URL", served.as_uri() + "/")
    monkeypatch.setenv("MF_DATA_HOME", str(tmp_path / "cache"))
    for variant in movielens._SHA256:
        monkeypatch.setitem(movielens._SHA256, variant, None)
    return served


def serve(served, variant, tmp_path):
    name, write = RELEASES[variant]
    folder = write(tmp_path / "build" / name)
    return zip_folder(folder, served / movielens._VARIANTS[variant].archive)


def test_download_then_cache(server, tmp_path, monkeypatch):
    archive = serve(server, "1m", tmp_path)
    monkeypatch.setitem(movielens._SHA256, "1m", hashlib.sha256(archive.read_bytes()).hexdigest())
    assert {i.name: i.status for i in list_datasets()}["1m"] == "not downloaded"
    data = load_movielens("1m")
    check_fixture(data, "1m")
    cached = tmp_path / "cache" / "ml-1m.zip"
    assert data.source == cached and cached.read_bytes() == archive.read_bytes()
    assert sorted(p.name for p in cached.parent.iterdir()) == ["ml-1m.zip"]
    info = {i.name: i for i in list_datasets()}["1m"]
    assert info.status == "cached" and info.path == cached
    archive.unlink()  # a second load reads the cache, not the server
    check_fixture(load_movielens("ml-1m"), "1m")


def test_wrong_checksum_is_never_cached(server, tmp_path, monkeypatch):
    serve(server, "100k", tmp_path)
    monkeypatch.setitem(movielens._SHA256, "100k", "0" * 64)
    with pytest.raises(DownloadError, match=r"expected 0{64}; the corrupt file was deleted, nothing was cached"):
        load_movielens("100k")
    cache = tmp_path / "cache"
    assert list(cache.iterdir()) == []
    assert {i.name: i.status for i in list_datasets()}["100k"] == "not downloaded"


def test_download_that_is_not_a_zip_is_never_cached(server, tmp_path):
    (server / "ml-25m.zip").write_text("<html>maintenance</html>")
    with pytest.raises(DownloadError, match="is not a zip archive; it was deleted"):
        load_movielens("25m")
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_message_says_where_to_put_the_zip(server, tmp_path):
    with pytest.raises(DownloadError) as err:
        load_movielens("20m")
    message = str(err.value)
    expected = tmp_path / "cache" / "ml-20m.zip"
    assert "could not download MovieLens 20m" in message
    assert f"save it as {expected}" in message and "pass path=" in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_no_download_when_not_allowed(server, tmp_path):
    serve(server, "100k", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"MovieLens 100k is not in the cache; download .*ml-100k\.zip"):
        load_movielens("100k", download=False)


def test_zip_placed_in_the_cache_by_hand(server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    name, write = RELEASES["latest"]
    zip_folder(write(tmp_path / name), cache / "ml-latest.zip")
    check_fixture(load_movielens("latest", download=False), "latest")


def test_damaged_cached_zip_says_to_delete_it(server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-1m.zip").write_text("truncated")
    with pytest.raises(ValueError, match="delete .*ml-1m.zip to download it again"):
        load_movielens("1m")
    with zipfile.ZipFile(cache / "ml-1m.zip", "w") as z:
        z.writestr("ml-1m/ratings.dat", "1::1::5::874965758\n")
    with pytest.raises(FileNotFoundError, match=r"\['movies.dat'\]; the cached file .* delete .*ml-1m.zip"):
        load_movielens("1m")


def test_list_datasets(server, tmp_path):
    infos = list_datasets()
    assert [i.name for i in infos] == ["latest-small", "100k", "1m", "10m", "20m", "25m", "latest"]
    assert infos[0].status == "bundled" and infos[0].path.is_dir()
    assert all(i.status == "not downloaded" for i in infos[1:])
    assert infos[3].url == server.as_uri() + "/ml-10m.zip"
    assert infos[3].path == tmp_path / "cache" / "ml-10m.zip"


def test_known_checksums_are_well_formed():
    for variant, digest in movielens._SHA256.items():
        assert variant in movielens._VARIANTS and variant != "latest-small"
        assert digest is None or (len(digest) == 64 and int(digest, 16) >= 0)
    assert movielens._SHA256["latest"] is None  # changes with every release


def test_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MF_DATA_HOME", str(tmp_path / "x"))
    assert data_home() == tmp_path / "x"
    monkeypatch.delenv("MF_DATA_HOME")
    monkeypatch.setattr(movielens.Path, "home", lambda: tmp_path)
    monkeypatch.setattr(movielens.sys, "platform", "linux")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert data_home() == tmp_path / ".cache" / "mf"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "mf"
    monkeypatch.setattr(movielens.sys, "platform", "darwin")
    assert data_home() == tmp_path / "Library" / "Caches" / "mf"
    monkeypatch.setattr(movielens.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert data_home() == tmp_path / "local" / "mf"
