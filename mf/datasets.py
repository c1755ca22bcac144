"""Data sets and readers: MovieLens releases, delimited rating files, synthetic ratings.

Examples
--------
>>> from mf.datasets import load_movielens, synthetic
>>> load_movielens().ratings.nnz
100836
>>> synthetic(50, 20, 300, random_state=1).nnz
300
"""

from .data.movielens import (
    Dataset,
    DatasetInfo,
    DownloadError,
    Movie,
    data_home,
    list_datasets,
    load_movielens,
)
from .data.readers import read_csv
from .data.synthetic import synthetic

__all__ = [
    "Dataset",
    "DatasetInfo",
    "DownloadError",
    "Movie",
    "data_home",
    "list_datasets",
    "load_movielens",
    "read_csv",
    "synthetic",
]
