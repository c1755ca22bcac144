"""Saving and loading fitted models: one ``.npz`` file, written atomically, read without pickle."""

import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_NAME = "mf-model"
FORMAT_VERSION = 1
_META_KEY = "__mf_meta__"
_USER_KEY = "metadata"


def encode_ids(ids, key, arrays, meta):
    """Store an id array without pickle: numeric/str arrays as is, mixed objects as JSON."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "iufbUS":
        arrays[key] = ids
        return
    values = [v.item() if isinstance(v, np.generic) else v for v in ids.tolist()]
    for v in values:
        if not isinstance(v, (int, float, str, bool)):
            raise TypeError(f"ids of type {type(v).__name__} cannot be saved; use int or str ids")
    meta.setdefault("json_ids", {})[key] = values


def decode_ids(key, arrays, meta):
    if key in arrays:
        return arrays[key]
    values = meta.get("json_ids", {}).get(key)
    if values is None:
        raise ValueError(f"model file is missing {key!r}")
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return None


def _checked_metadata(metadata):
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must hold only JSON values (dict, list, str, finite numbers, None): {exc}") from None
    return metadata


def save(model, path, metadata=None):
    """Write ``model`` to ``path`` as one ``.npz`` file, atomically.

    The file is written to a temporary name in the same directory, flushed
    to disk and renamed over ``path``: a crash never leaves a half-written
    model in place. Parameters that cannot be stored as JSON (for example a
    ``numpy.random.Generator`` as ``random_state``) are saved as ``None``.

    Parameters
    ----------
    model : fitted mf estimator
    path : str or path-like
    metadata : dict, optional
        JSON-serialisable information kept beside the model (for example
        where its training data came from); read it back with
        ``load(path, return_metadata=True)``.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import os, tempfile, mf
    >>> r = mf.Ratings([1, 1, 2, 2], [10, 20, 10, 30], [4.0, 3.0, 5.0, 2.0])
    >>> model = mf.MatrixFactorization(factors=2, epochs=2, random_state=0).fit(r)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save(model, os.path.join(folder, "model.npz"), metadata={"source": "example"})
    ...     loaded, metadata = load(path, return_metadata=True)
    >>> metadata, loaded.predict([1], [30]).tolist() == model.predict([1], [30]).tolist()
    ({'source': 'example'}, True)
    """
    arrays, meta = model._get_state()
    meta = dict(meta)
    if metadata is not None:
        meta[_USER_KEY] = _checked_metadata(metadata)
    meta.update(
        format=FORMAT_NAME,
        version=FORMAT_VERSION,
        cls=type(model).__name__,
        params={k: _jsonable(v) for k, v in model.get_params().items()},
    )
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return write_npz_atomic(path, {_META_KEY: blob, **arrays})


def write_npz_atomic(path, arrays):
    """Write ``arrays`` to an ``.npz`` file at ``path`` atomically; returns the path as a ``str``.

    The archive goes to a temporary file in the same folder, is synced to disk
    and then renamed over ``path``, so a reader never sees a partial file and
    a failure leaves nothing behind.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mf-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load(path, return_metadata=False):
    """Load a model written by ``save``; returns a fitted estimator.

    With ``return_metadata=True`` returns ``(model, metadata)``, where
    ``metadata`` is the dict given to ``save`` (empty when none was).
    Raises ``ValueError`` saying whether the file is not an mf model,
    truncated or corrupted, or of an unsupported format version.

    Examples
    --------
    >>> import os, tempfile, mf
    >>> r = mf.Ratings([1, 1, 2, 2], [10, 20, 10, 30], [4.0, 3.0, 5.0, 2.0])
    >>> model = mf.ItemKNN(k=2).fit(r)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = model.save(os.path.join(folder, "knn.npz"))
    ...     loaded = load(path)
    >>> loaded, loaded.predict([2], [20]).round(2)
    (ItemKNN(k=2), array([3.45], dtype=float32))
    """
    from .models.base import MODEL_REGISTRY

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise ValueError(f"{path!r} is not an mf model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _META_KEY not in npz.files:
                raise ValueError(f"{path!r} is not an mf model file (no mf metadata inside)")
            meta = json.loads(npz[_META_KEY].tobytes().decode("utf-8"))
            arrays = {name: npz[name] for name in npz.files if name != _META_KEY}
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupted and cannot be read as an mf model ({exc})") from None
    except ValueError as exc:
        if "mf model file" in str(exc):
            raise
        raise ValueError(f"{path!r} is truncated or corrupted and cannot be read as an mf model ({exc})") from None
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path!r} is not an mf model file")
    version = meta.get("version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses model format version {version}; this mf reads version {FORMAT_VERSION}"
        )
    cls = MODEL_REGISTRY.get(meta.get("cls"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown model class {meta.get('cls')!r}")
    model = cls(**meta["params"])
    model._set_state(arrays, meta)
    if return_metadata:
        metadata = meta.get(_USER_KEY, {})
        if not isinstance(metadata, dict):
            raise ValueError(f"{path!r} is corrupted: its metadata is not a JSON object")
        return model, metadata
    return model
