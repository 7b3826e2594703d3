"""The HDF5 motion store: the index of collections (:mod:`.index`), reading one (:mod:`.collection`),
writing one (:mod:`.writer`), few-shot splits, merge, export, and ``prepare`` (adapter stream -> collection)."""

from .collection import Collection, CollectionInfo
from .index import MotionStore, default_store_path
from .writer import CollectionWriter

__all__ = ["MotionStore", "Collection", "CollectionInfo", "CollectionWriter", "default_store_path"]
