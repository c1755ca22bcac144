"""The :class:`Ratings` container: the one way rating data enters the library."""

import warnings

import numpy as np
import scipy.sparse as sp

from ._order import canonical_order
from .ids import IdMap, as_id_array, factorize, factorize_array

__all__ = ["Ratings", "as_ratings"]

_DUPLICATES = ("raise", "last", "mean", "sum")


def _as_1d(values, name):
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    return arr


def _as_values(ratings, n):
    arr = _as_1d(ratings, "ratings")
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"ratings must be numeric, got dtype {arr.dtype}; convert them with "
            f"pandas.to_numeric or numpy.asarray(..., dtype=float)"
        )
    bad = ~np.isfinite(arr) if arr.dtype.kind == "f" else None
    if bad is not None and bad.any():
        pos = np.flatnonzero(bad)
        raise ValueError(
            f"ratings contains {pos.size} NaN or infinite values (first at position {int(pos[0])}); "
            f"drop or impute them before building Ratings"
        )
    with np.errstate(over="ignore"):
        values = arr.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError("ratings contains values too large for float32 (|r| > 3.4e38)")
    return values


def _as_timestamps(timestamps, n):
    arr = _as_1d(timestamps, "timestamps")
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise ValueError("timestamps contains NaT; drop those rows or fill them")
        return arr.astype("datetime64[s]").astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("timestamps contains NaN or infinite values; drop those rows or fill them")
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"timestamps must be integers (e.g. Unix seconds) or datetime64, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _combine_duplicates(u, i, v, t, mode, user_map, item_map):
    """Remove repeated (user, item) pairs from arrays sorted by (user, item)."""
    repeat = (u[1:] == u[:-1]) & (i[1:] == i[:-1])
    n_dup = int(np.count_nonzero(repeat))
    if n_dup == 0:
        return u, i, v, t
    if mode == "raise":
        k = int(np.flatnonzero(repeat)[0])
        pair = (user_map.raw(int(u[k])), item_map.raw(int(i[k])))
        raise ValueError(
            f"{n_dup} duplicate (user, item) pairs, e.g. user {pair[0]!r} and item {pair[1]!r}; "
            f"pass duplicates='last', 'mean' or 'sum' to combine them"
        )
    starts = np.flatnonzero(np.concatenate(([True], ~repeat)))
    ends = np.concatenate((starts[1:], [u.size])) - 1
    if mode == "last":
        values = v[ends]
    else:
        sums = np.add.reduceat(v.astype(np.float64), starts)
        if mode == "mean":
            sums /= ends - starts + 1
        values = sums.astype(np.float32)
    return u[ends], i[ends], values, (None if t is None else t[ends])


class Ratings:
    """A set of (user, item, rating[, timestamp]) observations.

    Raw ids of any hashable type are mapped to dense 0-based indices by id
    maps owned by the object. Ratings are stored once, sorted by
    (user, item), as int32 indices and float32 values, so the CSR view shares
    that memory.

    Parameters
    ----------
    users, items : array-like of shape (n,)
        Raw user and item ids (ints, strings, ...), one per rating.
    ratings : array-like of shape (n,), optional
        Numeric ratings. ``None`` means implicit data (every value 1).
    timestamps : array-like of shape (n,), optional
        Integer times (e.g. Unix seconds) or ``datetime64``.
    duplicates : {"raise", "last", "mean", "sum"}
        What to do when a (user, item) pair appears more than once.
        ``"last"`` keeps the last occurrence in input order; ``"mean"`` and
        ``"sum"`` combine the values and keep the last timestamp.

    Examples
    --------
    >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
    >>> r
    Ratings(2 users x 2 items, 3 ratings, density 75.00%, values 3..5)
    >>> r.user_index("bob"), r.item_ids.tolist()
    (1, ['alien', 'heat'])
    >>> r.to_csr().toarray()
    array([[4., 3.],
           [5., 0.]], dtype=float32)
    """

    def __init__(self, users, items, ratings=None, timestamps=None, *, duplicates="raise"):
        if duplicates not in _DUPLICATES:
            raise ValueError(f"duplicates must be one of {_DUPLICATES}, got {duplicates!r}")
        users = as_id_array(users, "users")
        items = as_id_array(items, "items")
        n = users.size
        arrays = {"items": items}
        values = None
        if ratings is not None:
            arrays["ratings"] = ratings = _as_1d(ratings, "ratings")
        if timestamps is not None:
            arrays["timestamps"] = timestamps = _as_1d(timestamps, "timestamps")
        for name, arr in arrays.items():
            if arr.size != n:
                raise ValueError(f"users has {n} entries but {name} has {arr.size}; pass one entry per rating")
        if n == 0:
            raise ValueError("no ratings given: users, items and ratings are empty")
        values = np.ones(n, dtype=np.float32) if ratings is None else _as_values(ratings, n)
        ts = None if timestamps is None else _as_timestamps(timestamps, n)
        user_map, ucodes = factorize_array(users, "users")
        item_map, icodes = factorize_array(items, "items")
        order = canonical_order(ucodes, icodes, len(user_map), len(item_map))
        u, i, v = ucodes[order], icodes[order], values[order]
        t = None if ts is None else ts[order]
        del order, ucodes, icodes
        u, i, v, t = _combine_duplicates(u, i, v, t, duplicates, user_map, item_map)
        self._setup(user_map, item_map, u, i, v, t, ratings is None)

    def _setup(self, user_map, item_map, u, i, v, t, implicit):
        self.user_map = user_map
        self.item_map = item_map
        self.user_indices = u
        self.item_indices = i
        self.values = v
        self.timestamps = t
        self.implicit = bool(implicit)
        self._csr = None
        self._csc = None

    @classmethod
    def _from_canonical(cls, user_map, item_map, u, i, v, t, implicit):
        """Build from index arrays already sorted by (user, item) without repeats."""
        obj = cls.__new__(cls)
        obj._setup(user_map, item_map, u, i, v, t, implicit)
        return obj

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_frame(cls, df, user="user", item="item", rating="rating", timestamp=None, *, duplicates="raise"):
        """Build from a pandas DataFrame (pandas itself is not required by mf).

        Parameters
        ----------
        df : pandas.DataFrame
        user, item : str
            Column names of the raw user and item ids.
        rating : str or None
            Column of ratings; ``None`` for implicit data.
        timestamp : str, optional
            Column of timestamps.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"userId": [1, 1, 2], "movieId": [10, 20, 10], "rating": [4.0, 3.5, 5.0]})
        >>> Ratings.from_frame(df, user="userId", item="movieId").nnz
        3
        """
        if not hasattr(df, "columns"):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        wanted = {"user": user, "item": item, "rating": rating, "timestamp": timestamp}
        columns = list(df.columns)
        for arg, col in wanted.items():
            if col is not None and col not in columns:
                raise KeyError(f"{arg}={col!r} is not a column of the DataFrame; columns are {columns}")
        return cls(
            df[user],
            df[item],
            None if rating is None else df[rating],
            None if timestamp is None else df[timestamp],
            duplicates=duplicates,
        )

    @classmethod
    def from_sparse(cls, matrix, user_ids=None, item_ids=None):
        """Build from a scipy sparse matrix (rows are users, columns items).

        Stored zeros are dropped with a warning: in a sparse matrix they mean
        "missing", not "rated zero". Every row and column keeps its id, even
        when it holds no rating.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> m = sp.csr_matrix([[5, 0, 3], [0, 4, 0]])
        >>> Ratings.from_sparse(m, user_ids=["u1", "u2"]).user_ids.tolist()
        ['u1', 'u2']
        """
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy sparse matrix, got {type(matrix).__name__}")
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D (users x items), got {matrix.ndim}-D")
        n_rows, n_cols = matrix.shape
        if matrix.dtype.kind not in "iufb":
            raise TypeError(f"matrix must hold numeric ratings, got dtype {matrix.dtype}")
        csr = sp.csr_matrix(matrix, dtype=np.float32 if matrix.dtype.kind == "b" else None, copy=True)
        csr.sum_duplicates()
        data = csr.data
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            raise ValueError("matrix contains NaN or infinite ratings; fix or drop them first")
        zeros = data == 0
        if zeros.any():
            warnings.warn(
                f"dropping {int(zeros.sum())} stored zeros from the sparse matrix (they mean 'missing' there)",
                stacklevel=2,
            )
            csr.eliminate_zeros()
        if csr.nnz == 0:
            raise ValueError("matrix holds no ratings")
        maps = []
        for ids, n, name, arg in ((user_ids, n_rows, "users", "user_ids"), (item_ids, n_cols, "items", "item_ids")):
            if ids is None:
                ids = np.arange(n, dtype=np.int64)
            else:
                ids = as_id_array(ids, arg)
                if ids.size != n:
                    raise ValueError(f"{arg} has {ids.size} entries but the matrix has {n} {name}")
                uniq = factorize(ids, name)[0]
                if len(uniq) != n:
                    raise ValueError(f"{arg} must be unique")
            maps.append(IdMap(ids, name))
        u = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(csr.indptr))
        i = csr.indices.astype(np.int32)
        v = _as_values(csr.data, csr.nnz)
        return cls._from_canonical(maps[0], maps[1], u, i, v, None, False)

    # ------------------------------------------------------------------ shape and summary
    @property
    def n_users(self):
        """Number of users in the id map (some may have no rating in a split)."""
        return len(self.user_map)

    @property
    def n_items(self):
        """Number of items in the id map (some may have no rating in a split)."""
        return len(self.item_map)

    @property
    def nnz(self):
        """Number of stored ratings."""
        return int(self.values.size)

    def __len__(self):
        return self.nnz

    @property
    def shape(self):
        return (self.n_users, self.n_items)

    @property
    def density(self):
        """Fraction of the users x items matrix that is rated."""
        cells = self.n_users * self.n_items
        return self.nnz / cells if cells else 0.0

    @property
    def global_mean(self):
        """Mean rating (float)."""
        return float(self.values.mean(dtype=np.float64)) if self.nnz else float("nan")

    @property
    def rating_range(self):
        """``(min, max)`` of the stored values."""
        if not self.nnz:
            return (float("nan"), float("nan"))
        return (float(self.values.min()), float(self.values.max()))

    @property
    def user_ids(self):
        """Raw user ids in index order."""
        return self.user_map.ids

    @property
    def item_ids(self):
        """Raw item ids in index order."""
        return self.item_map.ids

    @property
    def users(self):
        """Raw user id of each rating."""
        return self.user_map.ids[self.user_indices]

    @property
    def items(self):
        """Raw item id of each rating."""
        return self.item_map.ids[self.item_indices]

    def user_counts(self):
        """Number of ratings of each user, in index order (aligned with ``user_ids``).

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> r.user_ids.tolist(), r.user_counts().tolist()
        (['ann', 'bob'], [2, 1])
        """
        return np.bincount(self.user_indices, minlength=self.n_users)

    def item_counts(self):
        """Number of ratings of each item, in index order (aligned with ``item_ids``).

        Examples
        --------
        >>> r = Ratings([1, 2, 2], ["a", "a", "b"], [5, 3, 4])
        >>> r.item_ids[r.item_counts() >= 2].tolist()
        ['a']
        """
        return np.bincount(self.item_indices, minlength=self.n_items)

    def __repr__(self):
        lo, hi = self.rating_range
        kind = "implicit" if self.implicit else f"values {lo:g}..{hi:g}"
        return (
            f"Ratings({self.n_users:,} users x {self.n_items:,} items, {self.nnz:,} ratings, "
            f"density {100 * self.density:.2f}%, {kind})"
        )

    # ------------------------------------------------------------------ ids
    def user_index(self, raw):
        """Dense index of raw user id(s); ``KeyError`` for unknown ids.

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> r.user_index("bob"), r.user_index(["bob", "ann"]).tolist()
        (1, [1, 0])
        """
        return self.user_map.index(raw)

    def item_index(self, raw):
        """Dense index of raw item id(s); ``KeyError`` for unknown ids.

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> r.item_index("heat")
        1
        """
        return self.item_map.index(raw)

    def user_id(self, index):
        """Raw user id(s) of dense index(es).

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> r.user_id(0), r.user_id([1, 0]).tolist()
        ('ann', ['bob', 'ann'])
        """
        return self.user_map.raw(index)

    def item_id(self, index):
        """Raw item id(s) of dense index(es).

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> r.item_id(1)
        'heat'
        """
        return self.item_map.raw(index)

    # ------------------------------------------------------------------ matrices
    def to_csr(self):
        """Users x items ``scipy.sparse.csr_matrix`` (float32 data, int32 indices), cached.

        The matrix shares memory with this object: do not modify it in place.

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> m = r.to_csr()
        >>> m.format, m.dtype, m.indices.dtype
        ('csr', dtype('float32'), dtype('int32'))
        >>> m.toarray()
        array([[4., 3.],
               [5., 0.]], dtype=float32)
        """
        if self._csr is None:
            index_dtype = np.int32 if self.nnz < 2**31 - 1 else np.int64
            indptr = np.zeros(self.n_users + 1, dtype=index_dtype)
            np.cumsum(np.bincount(self.user_indices, minlength=self.n_users), out=indptr[1:])
            csr = sp.csr_matrix(
                (self.values, self.item_indices.astype(index_dtype, copy=False), indptr),
                shape=self.shape,
                copy=False,
            )
            csr.has_sorted_indices = True
            self._csr = csr
        return self._csr

    def to_csc(self):
        """Users x items ``scipy.sparse.csc_matrix`` (float32 data), cached.

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> m = r.to_csc()
        >>> m.format, m.shape, np.diff(m.indptr).tolist()
        ('csc', (2, 2), [2, 1])
        """
        if self._csc is None:
            self._csc = self.to_csr().tocsc()
            self._csc.has_sorted_indices = True
        return self._csc

    def to_coo(self):
        """``(user_indices, item_indices, values)`` index arrays, sorted by (user, item).

        Examples
        --------
        >>> r = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> u, i, v = r.to_coo()
        >>> u.tolist(), i.tolist(), v.tolist()
        ([0, 0, 1], [0, 1, 0], [4.0, 3.0, 5.0])
        """
        return self.user_indices, self.item_indices, self.values

    # ------------------------------------------------------------------ selections
    def subset(self, mask_or_indices):
        """Ratings selected by a boolean mask or integer positions, same id maps.

        Examples
        --------
        >>> r = Ratings([1, 1, 2], [7, 8, 7], [4.0, 2.0, 5.0])
        >>> s = r.subset(r.values > 3)
        >>> len(s), s.n_users, s.user_map is r.user_map
        (2, 2, True)
        """
        sel = np.asarray(mask_or_indices)
        if sel.dtype == bool:
            if sel.shape != (self.nnz,):
                raise ValueError(f"a boolean mask must have shape ({self.nnz},), got {sel.shape}")
        elif sel.dtype.kind in "iu":
            if sel.ndim != 1:
                raise ValueError(f"indices must be 1-D, got shape {sel.shape}")
            if sel.size and (sel.min() < -self.nnz or sel.max() >= self.nnz):
                raise IndexError(f"indices out of range for {self.nnz} ratings")
            sel = np.sort(np.where(sel < 0, sel + self.nnz, sel))
            if sel.size > 1 and (sel[1:] == sel[:-1]).any():
                raise ValueError("indices contain repeats; each rating can be selected once")
        else:
            raise TypeError(f"mask_or_indices must be a boolean mask or integer positions, got dtype {sel.dtype}")
        t = None if self.timestamps is None else self.timestamps[sel]
        return Ratings._from_canonical(
            self.user_map,
            self.item_map,
            self.user_indices[sel],
            self.item_indices[sel],
            self.values[sel],
            t,
            self.implicit,
        )

    def indices_in(self, user_map, item_map):
        """Indices of this object's users and items in other id maps (-1 where unknown).

        Examples
        --------
        >>> train = Ratings(["ann", "bob", "ann"], ["alien", "alien", "heat"], [4, 5, 3])
        >>> new = Ratings(["bob", "cy"], ["heat", "alien"], [2, 1])
        >>> u, i = new.indices_in(train.user_map, train.item_map)
        >>> u.tolist(), i.tolist()
        ([1, -1], [1, 0])
        """
        u = self.user_indices if user_map is self.user_map else user_map.lookup(self.users)
        i = self.item_indices if item_map is self.item_map else item_map.lookup(self.items)
        return u, i


def as_ratings(X, name="X"):
    """Convert the accepted rating inputs to :class:`Ratings`.

    Accepts ``Ratings``, a scipy sparse matrix (rows users, columns items), a
    ``(users, items, ratings)`` tuple of arrays, a ``(users, items)`` tuple
    (implicit data: every value 1), or a pandas DataFrame whose first three
    columns are user, item and rating.

    Examples
    --------
    >>> as_ratings((["u1", "u2"], ["i1", "i1"], [1.0, 2.0]))
    Ratings(2 users x 1 items, 2 ratings, density 100.00%, values 1..2)
    >>> import scipy.sparse as sp
    >>> as_ratings(sp.csr_matrix([[5, 0], [0, 4]])).user_ids.tolist()
    [0, 1]
    >>> as_ratings(([1, 2], [7, 7])).values.tolist()
    [1.0, 1.0]
    """
    if isinstance(X, Ratings):
        return X
    if sp.issparse(X):
        return Ratings.from_sparse(X)
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        cols = list(X.columns)
        if len(cols) < 3:
            raise ValueError(f"{name}: a DataFrame needs user, item and rating columns, got columns {cols}")
        return Ratings(X[cols[0]], X[cols[1]], X[cols[2]])
    if isinstance(X, (tuple, list)) and len(X) in (2, 3):
        return Ratings(*X)
    raise TypeError(
        f"{name} must be mf.Ratings, a scipy sparse matrix, a (users, items, ratings) tuple "
        f"or a pandas DataFrame; got {type(X).__name__}"
    )

