"""Raw id <-> dense index mapping.

Users and items arrive with raw ids of any hashable type (ints, strings, ...).
Everything inside the library works on dense 0-based indices; :class:`IdMap`
converts between the two and is shared by every :class:`~mf.Ratings` derived
from the same data, so indices always line up.
"""

import numpy as np

__all__ = ["IdMap", "factorize", "as_id_array"]


def _preview(values, limit=5):
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _asarray(values):
    """``np.asarray`` that keeps a mixed list such as ``[1, "a"]`` as objects, not strings."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        obj = np.asarray(values, dtype=object)
        if not all(isinstance(v, (str, bytes)) for v in obj.reshape(-1).tolist()):
            return obj
    return arr


def as_id_array(values, name):
    """Validate a 1-D array-like of raw ids and return it as a numpy array.

    Integral floats are converted to int64 (ids read from a float column);
    object arrays holding only strings become unicode arrays.

    Examples
    --------
    >>> as_id_array([3.0, 1.0], "users")
    array([3, 1])
    >>> as_id_array(np.array(["a", "b"], dtype=object), "items")
    array(['a', 'b'], dtype='<U1')
    """
    arr = _asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}; pass one id per rating")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} contains NaN or infinite ids (first at position {pos}); drop those rows first")
        if np.all(arr == np.floor(arr)) and (arr.size == 0 or np.abs(arr).max() < 2**53):
            arr = arr.astype(np.int64)
    elif arr.dtype.kind == "O":
        for pos, v in enumerate(arr):
            if v is None or (isinstance(v, float) and v != v):
                raise ValueError(f"{name} contains a missing id ({v!r}) at position {pos}; drop those rows first")
        if arr.size and all(isinstance(v, str) for v in arr):
            arr = arr.astype(str)
    elif arr.dtype.kind not in "iubUSM":
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; use integer or string ids")
    return arr


class IdMap:
    """Bidirectional map between raw ids and dense indices ``0..n-1``.

    Parameters
    ----------
    ids : array-like
        Raw ids in index order (index ``k`` is ``ids[k]``). Must be unique.
    name : str
        What the ids are ("users", "items"); used in error messages.

    Examples
    --------
    >>> m = IdMap(["a", "b", "c"], name="items")
    >>> m.index(["c", "a"])
    array([2, 0])
    >>> m.raw([1])
    array(['b'], dtype='<U1')
    """

    __slots__ = ("ids", "name", "_sorted", "_dict")

    def __init__(self, ids, name="ids"):
        self.ids = np.asarray(ids)
        self.name = name
        kind = self.ids.dtype.kind
        self._sorted = kind in "iufUSbM" and bool(np.all(self.ids[1:] > self.ids[:-1]))
        self._dict = None
        if not self._sorted:
            self._dict = {v: k for k, v in enumerate(self.ids.tolist())}
            if len(self._dict) != len(self.ids):
                raise ValueError(f"{name} ids must be unique")

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return f"IdMap({self.name}: {len(self)} ids)"

    def lookup(self, raw):
        """Indices of ``raw`` ids as an int64 array, ``-1`` where unknown.

        Examples
        --------
        >>> IdMap(["a", "b", "c"]).lookup(["c", "z"])
        array([ 2, -1])
        """
        raw = _asarray(raw)
        shape = raw.shape
        flat = raw.reshape(-1)
        if self._sorted and _comparable(self.ids.dtype, flat.dtype):
            pos = np.searchsorted(self.ids, flat)
            pos[pos >= len(self.ids)] = 0
            found = len(self.ids) > 0
            hit = (self.ids[pos] == flat) if found else np.zeros(flat.shape, bool)
            out = np.where(hit, pos, -1).astype(np.int64)
        else:
            if self._dict is None:
                self._dict = {v: k for k, v in enumerate(self.ids.tolist())}
            get = self._dict.get
            out = np.fromiter((get(v, -1) for v in flat.tolist()), dtype=np.int64, count=flat.size)
        return out.reshape(shape)

    def index(self, raw):
        """Dense index of each raw id; raises ``KeyError`` naming unknown ids.

        A scalar gives an ``int``, an array-like gives an int64 array.

        Examples
        --------
        >>> m = IdMap(["a", "b", "c"], name="items")
        >>> m.index("b")
        1
        >>> m.index(["z"])
        Traceback (most recent call last):
        ...
        KeyError: "1 unknown items: 'z' (not present in the training data)"
        """
        scalar = np.ndim(raw) == 0
        idx = self.lookup([raw] if scalar else raw)
        missing = idx < 0
        if missing.any():
            unknown = np.asarray([raw] if scalar else raw).reshape(-1)[missing.reshape(-1)]
            raise KeyError(
                f"{int(missing.sum())} unknown {self.name}: {_preview(unknown)} "
                f"(not present in the training data)"
            )
        return int(idx[0]) if scalar else idx

    def raw(self, index):
        """Raw ids for dense indices (scalar in, scalar out).

        Examples
        --------
        >>> m = IdMap(["a", "b", "c"])
        >>> m.raw(2)
        'c'
        >>> m.raw([0, 2])
        array(['a', 'c'], dtype='<U1')
        """
        idx = np.asarray(index)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{self.name} indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.ids)):
            raise IndexError(f"{self.name} index out of range [0, {len(self.ids)})")
        out = self.ids[idx]
        return out.item() if np.ndim(out) == 0 and isinstance(out, np.generic) else out


def _comparable(a, b):
    numeric = "iufb"
    text = "US"
    return (a.kind in numeric and b.kind in numeric) or (a.kind in text and b.kind in text) or (
        a.kind == "M" and b.kind == "M"
    )


def factorize(values, name):
    """Map raw ids to dense codes.

    Returns ``(IdMap, codes)`` where ``codes`` is an int32 array with
    ``idmap.ids[codes] == values``. Sortable ids are numbered in sorted order.

    Examples
    --------
    >>> idmap, codes = factorize(["b", "a", "b"], "items")
    >>> idmap.ids, codes
    (array(['a', 'b'], dtype='<U1'), array([1, 0, 1], dtype=int32))
    """
    return factorize_array(as_id_array(values, name), name)


def factorize_array(arr, name):
    """:func:`factorize` for an array already validated by :func:`as_id_array`."""
    if arr.size == 0:
        return IdMap(arr[:0], name), np.empty(0, dtype=np.int32)
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= max(4 * arr.size, 1 << 16):
            if arr.dtype.kind == "i":
                shifted = arr.astype(np.intp) - lo
            else:
                shifted = (arr - arr.dtype.type(lo)).astype(np.intp, copy=False)
            present = np.zeros(span, dtype=bool)
            present[shifted] = True
            uniq = (np.flatnonzero(present) + lo).astype(arr.dtype)
            lookup = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
            return IdMap(uniq, name), lookup[shifted]
    if arr.dtype.kind != "O":
        uniq, codes = np.unique(arr, return_inverse=True)
        return IdMap(uniq, name), codes.reshape(-1).astype(np.int32)
    table = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in arr.tolist()), dtype=np.int32, count=arr.size)
    ids = np.empty(len(table), dtype=object)
    ids[:] = list(table)
    return IdMap(ids, name), codes
