"""Evaluation of LooC embeddings: feature extraction over a dataset and the protocols built on it."""

from .features import extract_features
from .knn import knn_accuracy, knn_class_scores

__all__ = ["extract_features", "knn_accuracy", "knn_class_scores"]
