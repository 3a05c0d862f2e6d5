"""Evaluation of LooC embeddings: feature extraction over a dataset and the protocols built on it."""

from .cache import FeatureCache
from .corruptions import CORRUPTIONS, SEVERITIES, Corruption, CorruptionResult, corrupt, corruption_accuracy
from .features import extract_features
from .few_shot import FewShotResult, few_shot_accuracy
from .head_contribution import HeadContributions, head_contributions, plot_head_contributions
from .knn import knn_accuracy, knn_class_scores
from .linear_probe import PROBE_METHODS, LinearProbe, fit_linear_probe
from .results import EvalRecord, EvalResults, ModelInfo, load_results, save_results, validate_results
from .retrieval import nearest_neighbours, plot_retrieval
from .rotation_probe import rotation_features
from .sensitivity import SENSITIVITY_AUGMENTATIONS, SensitivityMatrix, augmentation_sensitivity, plot_sensitivity
from .space_selection import SpaceRanking, candidate_keys, select_space
from .spaces import concat_features, space_key

__all__ = [
    "CORRUPTIONS",
    "PROBE_METHODS",
    "SENSITIVITY_AUGMENTATIONS",
    "SEVERITIES",
    "Corruption",
    "CorruptionResult",
    "EvalRecord",
    "EvalResults",
    "FeatureCache",
    "FewShotResult",
    "HeadContributions",
    "LinearProbe",
    "ModelInfo",
    "SensitivityMatrix",
    "SpaceRanking",
    "augmentation_sensitivity",
    "candidate_keys",
    "concat_features",
    "corrupt",
    "corruption_accuracy",
    "extract_features",
    "few_shot_accuracy",
    "fit_linear_probe",
    "head_contributions",
    "knn_accuracy",
    "knn_class_scores",
    "load_results",
    "nearest_neighbours",
    "plot_head_contributions",
    "plot_retrieval",
    "plot_sensitivity",
    "rotation_features",
    "save_results",
    "select_space",
    "space_key",
    "validate_results",
]
