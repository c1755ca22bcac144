"""Train/test splits of :class:`mf.Ratings` (see :mod:`mf.data.splits`).

Examples
--------
>>> import mf.split
>>> mf.split.__all__
['train_test_split', 'k_fold', 'user_holdout', 'temporal_split', 'predefined']
"""

from mf.data.splits import *  # noqa: F403
from mf.data.splits import __all__  # noqa: F401
