"""Data layer: the Ratings container, id maps, readers, splits and datasets."""

from .ids import IdMap
from .ratings import Ratings, as_ratings

__all__ = ["IdMap", "Ratings", "as_ratings"]
