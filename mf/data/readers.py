"""Streaming reader for delimited rating files (CSV, TSV, ``::``-separated, ...).

The file is read in blocks of complete lines; a numba kernel splits each block
into fields and parses numbers straight from the bytes, so memory grows with
the output arrays only (no Python object per row) and pandas is not needed.
"""

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import lzma
import os

import numpy as np
from numba import njit

from .ratings import Ratings

__all__ = ["read_csv", "open_binary"]

_BLOCK_BYTES = 1 << 23
_SCRATCH_ROWS = 1 << 18

_AUTO = 0  # canonical integers, or text as soon as one value is not
_FLOAT = 1

_OK, _TOO_FEW, _BAD_NUMBER, _EMPTY, _BAD_QUOTE = range(5)

_POW10 = np.array([10.0**k for k in range(23)])

_MAGIC = (
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw)),
    (b"BZh", bz2.BZ2File),
    (b"\xfd7zXZ\x00", lzma.LZMAFile),
)


# ---------------------------------------------------------------------- kernels
# Bytes: 10 newline, 13 carriage return, 32 space, 34 double quote, 43 "+",
# 45 "-", 46 ".", 48..57 digits, 69/101 "E"/"e".
@njit(cache=True, nogil=True, inline="always")
def _parse_int(buf, p, n):
    """Canonical decimal integer (``-?[1-9][0-9]*`` or ``0``, at most 18 digits) at ``buf[p:]``.

    Returns ``(ok, value, end)`` where ``end`` is the first byte after the digits.
    """
    neg = p < n and buf[p] == 45
    if neg:
        p += 1
    first = p
    value = 0
    while p < n and p - first < 19:
        d = int(buf[p]) - 48
        if d < 0 or d > 9:
            break
        value = value * 10 + d
        p += 1
    n_digits = p - first
    if n_digits == 0 or n_digits > 18 or (buf[first] == 48 and (n_digits > 1 or neg)):
        return False, 0, p
    return True, -value if neg else value, p


@njit(cache=True, nogil=True, inline="always")
def _parse_float(buf, p, n, pow10):
    """Decimal number (``[+-]digits[.digits][e[+-]digits]``) at ``buf[p:]``.

    Returns ``(ok, value, end)`` where ``end`` is the first byte after the
    number. Correctly rounded when the significand has at most 15 digits and
    the decimal exponent lies within +-22 (all ratings and timestamps in
    practice), otherwise within a few ulp.
    """
    neg = False
    if p < n and (buf[p] == 45 or buf[p] == 43):
        neg = buf[p] == 45
        p += 1
    mant = 0
    kept = 0
    exp10 = 0
    digits = 0
    while p < n and 48 <= buf[p] <= 57:
        digits += 1
        if kept < 19:
            mant = mant * 10 + (int(buf[p]) - 48)
            if mant > 0:
                kept += 1
        else:
            exp10 += 1
        p += 1
    if p < n and buf[p] == 46:
        p += 1
        while p < n and 48 <= buf[p] <= 57:
            digits += 1
            if kept < 19:
                mant = mant * 10 + (int(buf[p]) - 48)
                exp10 -= 1
                if mant > 0:
                    kept += 1
            p += 1
    if digits == 0:
        return False, 0.0, p
    if p < n and (buf[p] == 101 or buf[p] == 69):
        q = p + 1
        exp_neg = False
        if q < n and (buf[q] == 45 or buf[q] == 43):
            exp_neg = buf[q] == 45
            q += 1
        if q < n and 48 <= buf[q] <= 57:
            exponent = 0
            while q < n and 48 <= buf[q] <= 57:
                if exponent < 100000:
                    exponent = exponent * 10 + (int(buf[q]) - 48)
                q += 1
            exp10 += -exponent if exp_neg else exponent
            p = q
    if mant == 0:
        value = 0.0
    elif mant < 9007199254740992 and -22 <= exp10 <= 22:
        value = mant * pow10[exp10] if exp10 >= 0 else mant / pow10[-exp10]
    else:
        value = mant * 10.0**exp10
    return True, -value if neg else value, p


@njit(cache=True, nogil=True, inline="always")
def _sep_at(buf, p, n, sep):
    if p + sep.size > n:
        return False
    for k in range(sep.size):
        if buf[p + k] != sep[k]:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _line_end_at(buf, p, n):
    return p >= n or buf[p] == 10 or (buf[p] == 13 and (p + 1 >= n or buf[p + 1] == 10))


@njit(cache=True, nogil=True, inline="always")
def _field_end(buf, p, n, sep):
    """First position from ``p`` holding the separator or a newline (``n`` if none)."""
    s0 = sep[0]
    while p < n:
        c = buf[p]
        if c == 10 or (c == s0 and _sep_at(buf, p, n, sep)):
            return p
        p += 1
    return p


@njit(cache=True, nogil=True, inline="always")
def _ends_field(buf, p, n, sep, strip):
    """Position after trailing spaces if the field ends at ``p``, else -1."""
    if p < n and (buf[p] == 10 or (buf[p] == sep[0] and sep.size == 1)):
        return p
    if strip:
        while p < n and buf[p] == 32:
            p += 1
    if _line_end_at(buf, p, n) or _sep_at(buf, p, n, sep):
        return p
    return -1


@njit(cache=True, nogil=True)
def _tokenize(
    buf, pos, max_rows, sep, strip, comment, slot_of_field, kind, sub,
    ints, floats, row0, starts, ends, quoted, is_int, status,
):  # fmt: skip
    """Split lines of ``buf`` from byte ``pos`` into fields and parse the wanted ones.

    ``slot_of_field[f]`` is the output slot of field ``f`` (-1: ignored).
    Slot ``k`` of kind 1 writes the value of local row ``r`` to
    ``floats[sub[k], row0 + r]``; of kind 0 to ``ints[sub[k], row0 + r]``
    while ``is_int[sub[k]]`` holds (it drops to 0 at the first value that is
    not a canonical integer), and always the byte range of its text to
    ``starts``/``ends``/``quoted[sub[k], r]``. Stops after ``max_rows`` rows,
    at the end of ``buf`` or at the first error.

    ``status`` receives ``[rows, lines, code, line start, slot, field start,
    field end, next pos]``; lines (blank and comment lines included) count
    from ``pos``.
    """
    n = buf.size
    n_fields = slot_of_field.size
    row = 0
    line = 0
    code = 0
    bad_slot = -1
    fs = 0
    fe = 0
    line_start = pos
    while pos < n and row < max_rows:
        line_start = pos
        c = buf[pos]
        if c == 10 or (c == 13 and _line_end_at(buf, pos, n)) or c == comment:
            while pos < n and buf[pos] != 10:
                pos += 1
            pos += 1
            line += 1
            continue
        p = pos
        field = 0
        while field < n_fields:
            if strip:
                while p < n and buf[p] == 32:
                    p += 1
            slot = slot_of_field[field]
            j = sub[slot] if slot >= 0 else 0
            is_quoted = p < n and buf[p] == 34
            if is_quoted:
                p += 1
                fs = p
                while p < n and buf[p] != 10:
                    if buf[p] == 34:
                        if p + 1 < n and buf[p + 1] == 34:
                            p += 2
                            continue
                        break
                    p += 1
                fe = p
                if p >= n or buf[p] != 34:
                    code = _BAD_QUOTE
                    break
                p = _ends_field(buf, p + 1, n, sep, strip)
                if p < 0:
                    code = _BAD_QUOTE
                    break
                if slot >= 0:
                    if kind[slot] == 1:
                        ok, value, q = _parse_float(buf, fs, fe, _POW10)
                        if not ok or q != fe:
                            code = _BAD_NUMBER
                            bad_slot = slot
                            break
                        floats[j, row0 + row] = value
                    else:
                        if is_int[j]:
                            ok, ivalue, q = _parse_int(buf, fs, fe)
                            if ok and q == fe:
                                ints[j, row0 + row] = ivalue
                            else:
                                is_int[j] = 0
                        starts[j, row] = fs
                        ends[j, row] = fe
                        quoted[j, row] = True
            else:
                fs = p
                done = False
                if slot >= 0:
                    if kind[slot] == 1:
                        ok, value, q = _parse_float(buf, p, n, _POW10)
                        if ok:
                            t = _ends_field(buf, q, n, sep, strip)
                            if t >= 0:
                                floats[j, row0 + row] = value
                                p = t
                                done = True
                    elif is_int[j]:
                        ok, ivalue, q = _parse_int(buf, p, n)
                        if ok:
                            t = _ends_field(buf, q, n, sep, strip)
                            if t >= 0:
                                ints[j, row0 + row] = ivalue
                                starts[j, row] = fs
                                ends[j, row] = q
                                quoted[j, row] = False
                                p = t
                                done = True
                        if not done:
                            is_int[j] = 0
                if not done:
                    p = _field_end(buf, p, n, sep)
                    fe = p
                    if fe > fs and buf[fe - 1] == 13 and (fe == n or buf[fe] == 10):
                        fe -= 1
                    if strip:
                        while fe > fs and buf[fe - 1] == 32:
                            fe -= 1
                    if slot >= 0:
                        if fe == fs:
                            code = _EMPTY
                            bad_slot = slot
                            break
                        if kind[slot] == 1:
                            code = _BAD_NUMBER
                            bad_slot = slot
                            break
                        starts[j, row] = fs
                        ends[j, row] = fe
                        quoted[j, row] = False
            field += 1
            if p < n and buf[p] != 10 and buf[p] != 13:
                p += sep.size
            elif field < n_fields:
                code = _TOO_FEW
                break
        if code != 0:
            break
        while p < n and buf[p] != 10:
            p += 1
        pos = p + 1
        row += 1
        line += 1
    status[0] = row
    status[1] = line
    status[2] = code
    status[3] = line_start
    status[4] = bad_slot
    status[5] = fs
    status[6] = fe
    status[7] = pos


@njit(cache=True, nogil=True)
def _gather_text(buf, starts, ends, quoted, out):
    """Copy field bytes into the rows of ``out``, undoubling quotes in quoted fields."""
    for r in range(starts.size):
        k = 0
        p = starts[r]
        while p < ends[r]:
            c = buf[p]
            out[r, k] = c
            k += 1
            p += 2 if (quoted[r] and c == 34) else 1


# ---------------------------------------------------------------------- helpers
def _whole(parse, text):
    """Whether ``parse`` (a kernel number parser) accepts all of ``text``."""
    buf = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    ok, _, end = parse(buf, 0, buf.size)
    return ok and end == buf.size


def _is_int_text(text):
    return _whole(_parse_int, text)


def _is_number_text(text):
    return _whole(lambda buf, p, n: _parse_float(buf, p, n, _POW10), text)


def _split_line(text, sep, strip):
    try:
        fields = next(csv.reader([text], delimiter=sep)) if len(sep) == 1 and sep != " " else None
    except csv.Error:
        fields = None
    if fields is None:
        fields = [f[1:-1] if len(f) > 1 and f[0] == f[-1] == '"' else f for f in text.split(sep)]
    return [f.strip(" ") for f in fields] if strip else fields


@contextlib.contextmanager
def open_binary(source):
    """Open a ratings source for reading bytes, decompressing gzip, bz2 and xz files.

    Parameters
    ----------
    source : str, bytes, os.PathLike or binary file object
        A path (compression is recognised from the file's first bytes, not
        its name) or an already open binary stream, which is used as it is
        and left open.

    Yields
    ------
    stream : binary file object
    name : str
        The path, or the stream's ``name`` (``"<stream>"`` when it has none).
    size : int or None
        The file's size in bytes for an uncompressed path, else ``None``.

    Raises
    ------
    TypeError
        ``source`` is a text-mode file or not a path or file object.

    Examples
    --------
    >>> import io
    >>> from mf.data.readers import open_binary
    >>> with open_binary(io.BytesIO(b"u,i,r")) as (stream, name, size):
    ...     stream.read(), name, size
    (b'u,i,r', '<stream>', None)
    """
    if isinstance(source, io.TextIOBase):
        raise TypeError("path is a text-mode file; open it in binary mode ('rb') or pass its path")
    if hasattr(source, "read"):
        yield source, str(getattr(source, "name", "<stream>")), None
        return
    if not isinstance(source, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a file path or a binary file object, got {type(source).__name__}")
    name = os.fsdecode(source)
    with open(source, "rb") as raw:
        magic = raw.read(6)
        raw.seek(0)
        opener = next((op for m, op in _MAGIC if magic.startswith(m)), None)
        if opener is None:
            yield raw, name, os.fstat(raw.fileno()).st_size
        else:
            with opener(raw) as stream:
                yield stream, name, None


class _Output:
    """Growing output columns of the kernel; an auto column turns to text parts at its first non-integer."""

    def __init__(self, n_auto, n_float, capacity):
        self.ints = np.empty((n_auto, capacity), dtype=np.int64)
        self.floats = np.empty((n_float, capacity), dtype=np.float32)
        self.is_int = np.ones(n_auto, dtype=np.uint8)
        self.texts = [None] * n_auto
        self.rows = 0

    @property
    def capacity(self):
        return self.ints.shape[1]

    def grow(self):
        capacity = 2 * self.capacity
        for name in ("ints", "floats"):
            old = getattr(self, name)
            new = np.empty((old.shape[0], capacity), dtype=old.dtype)
            new[:, : self.rows] = old[:, : self.rows]
            setattr(self, name, new)

    def add_text(self, buf, starts, ends, quoted, rows):
        for j, parts in enumerate(self.texts):
            if self.is_int[j]:
                continue
            if parts is None:
                parts = self.texts[j] = [_ints_as_text(self.ints[j, : self.rows])]
            parts.append(_text(buf, starts[j, :rows], ends[j, :rows], quoted[j, :rows]))

    def column(self, kind, j, encoding, label):
        if kind == _FLOAT:
            return self.floats[j, : self.rows]
        if self.texts[j] is None:
            return self.ints[j, : self.rows]
        parts, self.texts[j] = self.texts[j], None
        return _decode(np.concatenate(parts), encoding, label)


def _ints_as_text(values):
    if values.size == 0:
        return values.astype("S1")
    width = max(len(str(int(values.min()))), len(str(int(values.max()))))
    return values.astype(f"S{width}")


def _decode(values, encoding, label):
    try:
        return values.astype(str)
    except UnicodeDecodeError:
        pass
    uniq, inverse = np.unique(values, return_inverse=True)
    try:
        decoded = np.array([v.decode(encoding) for v in uniq.tolist()])
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the {label} column is not valid {encoding} text ({exc.reason} in {exc.object[:40]!r}); "
            f"pass the file's encoding, e.g. encoding='latin-1'"
        ) from None
    return decoded[inverse.reshape(-1)]


def _text(buf, starts, ends, quoted):
    width = int((ends - starts).max()) if starts.size else 1
    out = np.zeros((starts.size, max(width, 1)), dtype=np.uint8)
    _gather_text(buf, starts, ends, quoted, out)
    return out.view(f"S{out.shape[1]}").reshape(-1)


def _content_lines(data, comment, encoding, want):
    """Up to ``want`` ``(line number, text, end offset)`` of non-blank, non-comment lines of ``data``."""
    mark = None if comment is None else comment.encode(encoding)
    found = []
    start = 0
    number = 0
    while start < len(data) and len(found) < want:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        raw = data[start:end].rstrip(b"\r\n")
        if raw.strip(b" \t") and not (mark is not None and raw.startswith(mark)):
            found.append((number, raw.decode(encoding, errors="replace"), end))
        start = end
        number += 1
    return found


def _line_at(data, start, limit=200):
    end = data.find(b"\n", start)
    raw = data[start : (len(data) if end < 0 else end)].rstrip(b"\r")
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------- the reader
def _read_columns(source, specs, kinds, *, sep, header, encoding, comment):
    """Read the columns ``specs`` (role -> name or position) of a delimited file.

    Returns ``{role: array}``: float32 for float roles; int64 for other roles
    whose values are all canonical integers, else str.
    """
    roles = list(specs)
    strip = sep != " "
    comment_byte = -1 if comment is None else comment.encode(encoding)[0]
    with open_binary(source) as (stream, name, size):
        block_bytes = _BLOCK_BYTES
        data = stream.read(block_bytes)
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
        while b"\n" not in data:
            more = stream.read(block_bytes)
            if not more:
                break
            data += more
        content = _content_lines(data, comment, encoding, want=2)
        if not content:
            raise ValueError(f"{name} is empty: it holds no data rows")
        first = _split_line(content[0][1], sep, strip)
        second = _split_line(content[1][1], sep, strip) if len(content) > 1 else None
        by_name = [r for r in roles if isinstance(specs[r], str)]
        if header == "auto":
            header = bool(by_name) or _looks_like_header(first, second, specs, kinds)
        elif by_name and not header:
            raise ValueError(
                f"{by_name[0]}={specs[by_name[0]]!r} names a column but header=False; "
                f"pass header=True or give column positions (0, 1, ...)"
            )
        positions = _resolve(specs, first if header else None)
        line_base = 0
        if header:
            line_base, end = content[0][0] + 1, content[0][2]
            data = data[end:]

        n_fields = max(positions.values()) + 1
        slot_of_field = np.full(n_fields, -1, dtype=np.int64)
        kind = np.array([kinds[r] for r in roles], dtype=np.int64)
        sub = np.zeros(len(roles), dtype=np.int64)
        counts = [0, 0]
        for k, r in enumerate(roles):
            slot_of_field[positions[r]] = k
            sub[k] = counts[kinds[r]]
            counts[kinds[r]] += 1
        sample = data[: 1 << 20]
        bytes_per_row = len(sample) / max(sample.count(b"\n"), 1)
        expected = (size if size is not None else 4 * len(data)) / max(bytes_per_row, 1.0)
        out = _Output(counts[_AUTO], counts[_FLOAT], int(1.02 * expected) + 1024)
        scratch = min(_SCRATCH_ROWS, out.capacity)
        starts = np.empty((counts[_AUTO], scratch), dtype=np.int64)
        ends = np.empty_like(starts)
        quoted = np.empty(starts.shape, dtype=np.bool_)
        sep_array = np.frombuffer(sep.encode(encoding), dtype=np.uint8).copy()
        status = np.zeros(8, dtype=np.int64)
        carry = data
        while True:
            block = stream.read(block_bytes)
            data = carry + block if block else carry
            cut = data.rfind(b"\n") + 1 if block else len(data)
            buf = np.frombuffer(data, dtype=np.uint8, count=cut)
            pos = 0
            while pos < cut:
                if out.rows == out.capacity:
                    out.grow()
                _tokenize(
                    buf, pos, min(scratch, out.capacity - out.rows), sep_array, strip, comment_byte,
                    slot_of_field, kind, sub, out.ints, out.floats, out.rows, starts, ends, quoted,
                    out.is_int, status,
                )  # fmt: skip
                rows, lines, code = (int(x) for x in status[:3])
                if code != _OK:
                    raise ValueError(_error_message(name, data, status, roles, specs, sep, line_base, n_fields))
                out.add_text(buf, starts, ends, quoted, rows)
                out.rows += rows
                line_base += lines
                pos = int(status[7])
            carry = data[cut:]
            if not block:
                break
    if out.rows == 0:
        raise ValueError(f"{name} holds no data rows" + (" after its header line" if header else ""))
    return {r: out.column(kinds[r], sub[k], encoding, f"{r} ({specs[r]!r})") for k, r in enumerate(roles)}


def _looks_like_header(first, second, specs, kinds):
    """The first line is a header when a numeric column holds a non-number there."""
    for role, pos in specs.items():
        if pos >= len(first):
            return False
        if kinds[role] == _FLOAT and not _is_number_text(first[pos]):
            return True
        if (
            kinds[role] == _AUTO
            and second is not None
            and pos < len(second)
            and _is_int_text(second[pos])
            and not _is_int_text(first[pos])
        ):
            return True
    return False


def _resolve(specs, names):
    positions = {}
    for role, spec in specs.items():
        if isinstance(spec, str):
            hits = [k for k, col in enumerate(names) if col == spec]
            if not hits:
                raise ValueError(f"{role}={spec!r}: no such column; the header has columns {names}")
            if len(hits) > 1:
                raise ValueError(f"{role}={spec!r}: the header has {len(hits)} columns of that name; give its position")
            positions[role] = hits[0]
        else:
            positions[role] = spec
            if names is not None and spec >= len(names):
                raise ValueError(f"{role}={spec}: the header has only {len(names)} columns {names}")
    taken = {}
    for role, pos in positions.items():
        if pos in taken:
            raise ValueError(f"{taken[pos]} and {role} both refer to column {pos}; each role needs its own column")
        taken[pos] = role
    return positions


def _error_message(name, data, status, roles, specs, sep, line_base, n_fields):
    lines, code, line_start, slot, fs, fe = (int(x) for x in status[1:7])
    where = f"{name}, line {line_base + lines + 1}"
    text = _line_at(data, line_start)
    if code == _TOO_FEW:
        return f"{where}: too few fields separated by {sep!r} (need at least {n_fields}): {text!r}"
    if code == _BAD_QUOTE:
        return f"{where}: a quoted field is not closed before the separator or end of line: {text!r}"
    role = roles[slot]
    field = data[fs:fe].decode("utf-8", errors="replace")
    column = f"column {specs[role]!r}"
    if code == _EMPTY:
        return f"{where}: the {role} ({column}) is empty: {text!r}"
    return f"{where}: {role} {field!r} ({column}) is not a number: {text!r}"


def _check_spec(name, value, optional):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{name} must be a column name (str) or position (int), got {value!r}")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{name}={value}: column positions count from 0")


def _check_options(sep, header, encoding, comment):
    if not isinstance(sep, str) or not sep or any(c in sep for c in "\r\n\""):
        raise ValueError(f"sep must be a non-empty string without quotes or newlines, got {sep!r}")
    if header not in (True, False, "auto"):
        raise ValueError(f"header must be True, False or 'auto', got {header!r}")
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(f"encoding={encoding!r} is not a known text encoding (e.g. 'utf-8', 'latin-1')") from None
    if comment is not None and (not isinstance(comment, str) or len(comment.encode(encoding)) != 1):
        raise ValueError(f"comment must be a single one-byte character or None, got {comment!r}")


def read_csv(
    path,
    user=0,
    item=1,
    rating=2,
    timestamp=None,
    *,
    sep=",",
    header="auto",
    encoding="utf-8",
    comment=None,
    duplicates="raise",
):
    """Read ratings from a delimited text file into :class:`~mf.Ratings`.

    The file is streamed in blocks and parsed by compiled code: memory grows
    with the result's arrays, not with Python objects per row. Files
    compressed with gzip, bz2 or xz are recognised by their first bytes.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file to read (an open binary stream such as a zip member works too).
    user, item : str or int
        Column of the user and item ids, by header name or 0-based position.
        Ids made only of canonical integers (``42``, ``-7``; not ``007``)
        become int64; any other id makes the whole column str.
    rating : str, int or None
        Column of the numeric ratings; ``None`` reads implicit data.
    timestamp : str, int or None
        Column of times: integers (e.g. Unix seconds) or ISO 8601 dates.
    sep : str
        Field separator, one or more characters (``","``, ``"\\t"``, ``"::"``).
        Spaces around fields are ignored unless ``sep`` is a space.
    header : bool or "auto"
        Whether the first non-blank line names the columns. ``"auto"``: yes
        when a column is given by name, or when the first line holds a
        non-number where the second (or, for ``rating``, any line) holds a
        number.
    encoding : str
        Text encoding of the header and of text ids.
    comment : str, optional
        Lines starting with this character are skipped.
    duplicates : {"raise", "last", "mean", "sum"}
        Passed to :class:`~mf.Ratings` for repeated (user, item) pairs.

    Fields may be enclosed in double quotes (``"a, b"``; ``""`` stands for one
    quote); a quoted field cannot span lines. Blank lines are skipped.

    Returns
    -------
    Ratings

    Raises
    ------
    ValueError
        For a missing column (naming the available ones), an empty file, or
        a row that cannot be parsed (giving its line number and text).

    Examples
    --------
    >>> import io
    >>> data = io.BytesIO(b"user,item,stars\\nann,alien,4\\nbob,alien,5\\nann,heat,3.5\\n")
    >>> r = read_csv(data, user="user", item="item", rating="stars")
    >>> r
    Ratings(2 users x 2 items, 3 ratings, density 75.00%, values 3.5..5)
    >>> r.user_ids.tolist(), r.values.tolist()
    (['ann', 'bob'], [4.0, 3.5, 5.0])
    """
    _check_spec("user", user, False)
    _check_spec("item", item, False)
    _check_spec("rating", rating, True)
    _check_spec("timestamp", timestamp, True)
    _check_options(sep, header, encoding, comment)
    specs = {"user": user, "item": item}
    kinds = {"user": _AUTO, "item": _AUTO}
    if rating is not None:
        specs["rating"], kinds["rating"] = rating, _FLOAT
    if timestamp is not None:
        specs["timestamp"], kinds["timestamp"] = timestamp, _AUTO
    cols = _read_columns(path, specs, kinds, sep=sep, header=header, encoding=encoding, comment=comment)
    times = cols.get("timestamp")
    if times is not None and times.dtype.kind == "U":
        times = _parse_dates(times, timestamp)
    return Ratings(cols["user"], cols["item"], cols.get("rating"), times, duplicates=duplicates)


def _parse_dates(values, spec):
    try:
        return values.astype("datetime64[s]")
    except ValueError:
        for v in np.unique(values).tolist():
            try:
                np.datetime64(v, "s")
            except ValueError:
                raise ValueError(
                    f"timestamp={spec!r}: {v!r} is neither an integer nor an ISO 8601 date/time; "
                    f"fix or drop those rows"
                ) from None
        raise
