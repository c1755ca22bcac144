import bz2
import gzip
import io
import lzma
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mf.data import readers
from mf.datasets import read_csv


def stream(text, encoding="utf-8"):
    return io.BytesIO(text.encode(encoding) if isinstance(text, str) else text)


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Parse in blocks of a few bytes and a few rows, to cross every boundary."""
    monkeypatch.setattr(readers, "_BLOCK_BYTES", 7)
    monkeypatch.setattr(readers, "_SCRATCH_ROWS", 2)


def triples(r):
    return sorted(zip(r.users.tolist(), r.items.tolist(), r.values.tolist()))


# ---------------------------------------------------------------------- columns and headers
def test_columns_by_name_in_any_order():
    r = read_csv(stream("ts,rating,item,user\n10,4.5,7,1\n20,3,8,2\n"), "user", "item", "rating", "ts")
    assert triples(r) == [(1, 7, 4.5), (2, 8, 3.0)]
    assert r.timestamps.tolist() == [10, 20]
    assert r.user_ids.dtype == np.int64 and r.item_ids.dtype == np.int64


def test_columns_by_position_without_header():
    r = read_csv(stream("1\t7\t4\n2\t8\t5\n"), sep="\t")
    assert triples(r) == [(1, 7, 4.0), (2, 8, 5.0)]


@pytest.mark.parametrize(
    "text",
    [
        "user,item,rating\n1,7,4\n2,8,5\n",  # the rating column holds a word
        "u,i\n1,7\n2,8\n",  # implicit: words above integers
    ],
)
def test_header_auto_detected_with_positions(text):
    rating = 2 if text.count(",") > 4 else None
    r = read_csv(stream(text), 0, 1, rating)
    assert r.nnz == 2 and r.user_ids.tolist() == [1, 2]


def test_header_false_reads_first_line_as_data_and_rejects_names():
    with pytest.raises(ValueError, match="line 1: rating 'r'"):
        read_csv(stream("u,i,r\n1,2,3\n"), header=False)
    with pytest.raises(ValueError, match="header=False"):
        read_csv(stream("u,i,r\n1,2,3\n"), "u", "i", "r", header=False)


def test_header_true_with_positions_skips_the_first_line():
    r = read_csv(stream("a,b,c\nx,y,1\n"), header=True)
    assert triples(r) == [("x", "y", 1.0)]


def test_missing_column_names_it_and_lists_available():
    with pytest.raises(ValueError, match=r"rating='stars': no such column.*\['user', 'item', 'rating'\]"):
        read_csv(stream("user,item,rating\n1,2,3\n"), "user", "item", "stars")


def test_position_beyond_header():
    with pytest.raises(ValueError, match="timestamp=5: the header has only 3 columns"):
        read_csv(stream("user,item,rating\n1,2,3\n"), 0, 1, 2, 5, header=True)


def test_two_roles_on_one_column():
    with pytest.raises(ValueError, match="user and item both refer to column 0"):
        read_csv(stream("1,2,3\n"), 0, 0, 2)


def test_ambiguous_header_name():
    with pytest.raises(ValueError, match="2 columns of that name"):
        read_csv(stream("id,id,rating\n1,2,3\n"), "id", "id", "rating")


# ---------------------------------------------------------------------- ids
def test_string_ids_are_kept_as_strings():
    r = read_csv(stream("user,item,rating\nann,alien,4\nbob,heat,5\n"), "user", "item", "rating")
    assert r.user_ids.tolist() == ["ann", "bob"] and r.user_ids.dtype.kind == "U"


def test_ids_with_leading_zeros_are_text_not_numbers():
    r = read_csv(stream("1,0195153448,5\n2,034545104X,4\n3,7,1\n"))
    assert r.item_ids.tolist() == ["0195153448", "034545104X", "7"]
    assert r.user_ids.tolist() == [1, 2, 3]


def test_column_turning_to_text_late_keeps_every_earlier_id_exact(tiny_blocks):
    lines = [f"{u},{u * 10 - 500},1" for u in range(40)] + ["x-1,y,2"]
    r = read_csv(stream("\n".join(lines) + "\n"))
    expected_users = sorted([str(u) for u in range(40)] + ["x-1"])
    assert sorted(r.user_ids.tolist()) == expected_users
    assert "-500" in r.item_ids.tolist() and "y" in r.item_ids.tolist()


def test_integer_limits():
    big = 10**18 - 1
    r = read_csv(stream(f"{big},-5,1\n{10**18},0,2\n"))
    assert sorted(r.user_ids.tolist()) == sorted([str(big), str(10**18)])  # 19 digits: text
    assert read_csv(stream(f"{big},-5,1\n")).user_ids.tolist() == [big]
    assert r.item_ids.tolist() == [-5, 0]


def test_non_utf8_text_ids_need_the_encoding():
    data = "Amélie,1,4\nZoé,2,3\n".encode("latin-1")
    r = read_csv(io.BytesIO(data), encoding="latin-1")
    assert r.user_ids.tolist() == ["Amélie", "Zoé"]
    with pytest.raises(ValueError, match="not valid utf-8 text.*encoding='latin-1'"):
        read_csv(io.BytesIO(data))


# ---------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "text, value",
    [("4", 4.0), ("4.5", 4.5), ("-2", -2.0), ("+3", 3.0), (".5", 0.5), ("5.", 5.0), ("1e0", 1.0),
     ("2.5E-1", 0.25), ("0.000125e4", 1.25), ("  3.5  ", 3.5), ('"4.5"', 4.5), ("100000000000000000000", 1e20)],
)  # fmt: skip
def test_number_forms(text, value):
    assert read_csv(stream(f"1,2,{text}\n")).values.tolist() == [float(np.float32(value))]


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_float_parsing_matches_python(x):
    r = read_csv(stream(f"1,2,{x!r}\n"))
    assert r.values[0] == np.float32(x)


@pytest.mark.parametrize("bad", ["x", "4.5x", "1e", "nan", "4..5", "--1", "."])
def test_unparsable_rating_gives_line_number_and_text(bad):
    text = f"user,item,rating\n1,2,3\n1,3,{bad}\n"
    with pytest.raises(ValueError) as err:
        read_csv(stream(text))
    message = str(err.value)
    assert "line 3" in message and f"'1,3,{bad}'" in message and "rating" in message


def test_error_line_number_counts_lines_of_earlier_blocks(tiny_blocks):
    text = "u,i,r\n" + "".join(f"{k},1,2\n" for k in range(50)) + "\n# note\n50,1,oops\n"
    with pytest.raises(ValueError, match=r"line 54: rating 'oops' \(column 2\) is not a number: '50,1,oops'"):
        read_csv(stream(text), comment="#")


def test_too_few_fields():
    with pytest.raises(ValueError, match=r"line 2: too few fields separated by ',' \(need at least 3\): '1,3'"):
        read_csv(stream("1,2,3\n1,3\n"))


def test_empty_id_field():
    with pytest.raises(ValueError, match=r"line 1: the item \(column 1\) is empty"):
        read_csv(stream("1,,3\n"))


def test_unclosed_quote():
    with pytest.raises(ValueError, match="line 2: a quoted field is not closed"):
        read_csv(stream('1,2,3\n"1,2,3\n'))


@pytest.mark.parametrize("text", ["", "\n\n", "\r\n  \n"])
def test_empty_file(text):
    with pytest.raises(ValueError, match="is empty"):
        read_csv(stream(text))


def test_header_only():
    with pytest.raises(ValueError, match="no data rows after its header line"):
        read_csv(stream("user,item,rating\n"), "user", "item", "rating")


# ---------------------------------------------------------------------- formats
def test_separators_quotes_and_line_endings():
    r = read_csv(stream('"1";"a;b";"4"\r\n\r\n"2";"say ""hi""";5\r\n'), sep=";")
    assert triples(r) == [(1, "a;b", 4.0), (2, 'say "hi"', 5.0)]
    r = read_csv(stream("1::10::4::978300760\n2::20::3.5::978300761"), 0, 1, 2, 3, sep="::")
    assert triples(r) == [(1, 10, 4.0), (2, 20, 3.5)] and r.timestamps.tolist() == [978300760, 978300761]


def test_byte_order_mark_and_comments():
    r = read_csv(stream("\ufeffuser,item,rating\n# a comment\n1,2,3\n"), "user", "item", "rating", comment="#")
    assert triples(r) == [(1, 2, 3.0)]


def test_extra_columns_are_ignored():
    r = read_csv(stream('1,2,3,"free, text",more\n'))
    assert triples(r) == [(1, 2, 3.0)]


def test_space_separator_keeps_spaces_meaningful():
    assert triples(read_csv(stream("1 2 3\n4 5 6\n"), sep=" ")) == [(1, 2, 3.0), (4, 5, 6.0)]


@pytest.mark.parametrize("compress, suffix", [(gzip.compress, ".gz"), (bz2.compress, ".bz2"), (lzma.compress, ".xz")])
def test_compressed_files(tmp_path, compress, suffix):
    path = tmp_path / f"ratings.csv{suffix}"
    path.write_bytes(compress(b"userId,movieId,rating\n1,10,4\n2,10,5\n"))
    r = read_csv(path, "userId", "movieId", "rating")
    assert triples(r) == [(1, 10, 4.0), (2, 10, 5.0)]
    assert triples(read_csv(str(path), "userId", "movieId", "rating")) == triples(r)


def test_timestamps_as_integers_or_dates():
    r = read_csv(stream("u,i,t\n1,2,2005-09-06\n2,3,2005-09-07 10:00:00\n"), 0, 1, None, 2)
    assert r.implicit and r.timestamps.tolist() == [1125964800, 1126087200]
    with pytest.raises(ValueError, match="timestamp=2: 'yesterday' is neither an integer nor an ISO 8601"):
        read_csv(stream("1,2,yesterday\n"), 0, 1, None, 2)


def test_duplicates_are_passed_to_ratings():
    text = "1,2,3\n1,2,5\n"
    with pytest.raises(ValueError, match="duplicate"):
        read_csv(stream(text))
    assert read_csv(stream(text), duplicates="mean").values.tolist() == [4.0]


def test_matches_numpy_on_the_bundled_file():
    path = readers.__file__.replace("readers.py", "movielens_small/ratings.csv.gz")
    r = read_csv(path, "userId", "movieId", "rating", "timestamp")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1)
    assert r.nnz == len(table) == 100_836
    order = np.lexsort((table[:, 1], table[:, 0]))
    np.testing.assert_array_equal(r.users, table[order, 0])
    np.testing.assert_array_equal(r.items, table[order, 1])
    np.testing.assert_array_equal(r.values, table[order, 2].astype(np.float32))
    np.testing.assert_array_equal(r.timestamps, table[order, 3])


ids = st.one_of(st.integers(-(10**12), 10**12), st.text("abcxyz019 ,\"'", min_size=1, max_size=6))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(ids, ids, st.integers(1, 10)), min_size=1, max_size=30, unique_by=lambda t: str(t[:2])))
def test_round_trip_with_tiny_blocks(rows):
    def quote(v):
        return '"' + str(v).replace('"', '""') + '"'

    text = "".join(f"{quote(u)},{quote(i)},{v / 2}\n" for u, i, v in rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "_BLOCK_BYTES", 5)
        mp.setattr(readers, "_SCRATCH_ROWS", 3)
        got = read_csv(stream(text), header=False)

    def as_read(values):
        text = [str(v) for v in values]
        canonical = all(re.fullmatch(r"0|-?[1-9][0-9]{0,17}", t) for t in text)
        return [int(t) for t in text] if canonical else text

    users = as_read([u for u, _, _ in rows])
    items = as_read([i for _, i, _ in rows])
    expected = sorted(zip(users, items, [v / 2 for _, _, v in rows]))
    assert sorted(zip(got.users.tolist(), got.items.tolist(), got.values.tolist())) == expected


# ---------------------------------------------------------------------- arguments
def test_text_mode_file_is_rejected(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("1,2,3\n")
    with open(path) as f, pytest.raises(TypeError, match="binary mode"):
        read_csv(f)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_csv("/nonexistent/ratings.csv")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sep": ""}, ValueError, "sep must be"),
        ({"sep": '"'}, ValueError, "sep must be"),
        ({"header": "yes"}, ValueError, "header must be"),
        ({"encoding": "klingon"}, ValueError, "not a known text encoding"),
        ({"comment": "##"}, ValueError, "comment must be"),
        ({"user": True}, TypeError, "user must be a column name"),
        ({"item": 1.5}, TypeError, "item must be a column name"),
        ({"rating": -1}, ValueError, "rating=-1: column positions count from 0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        read_csv(stream("1,2,3\n"), **kwargs)


def test_path_of_wrong_type():
    with pytest.raises(TypeError, match="path must be a file path"):
        read_csv(42)


@pytest.mark.parametrize("text", ["0", "7", "-42", "123456789012345678", "4.5", "-2.5e-3", "1e22", "12x"])
def test_number_parsers_agree_with_their_pure_python_form(text):
    """The kernels must mean the same thing when run without the JIT (NUMBA_DISABLE_JIT=1)."""
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    assert readers._parse_int(buf, 0, buf.size) == readers._parse_int.py_func(buf, 0, buf.size)
    compiled = readers._parse_float(buf, 0, buf.size, readers._POW10)
    assert compiled == readers._parse_float.py_func(buf, 0, buf.size, readers._POW10)
