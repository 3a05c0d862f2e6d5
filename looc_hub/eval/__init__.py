"""Evaluation of LooC embeddings: feature extraction over a dataset and the protocols built on it."""

from ..spaces import concat_features, space_key
from .corruptions import CORRUPTIONS, SEVERITIES, Corruption, CorruptionResult, corrupt, corruption_accuracy
from .feature_cache import FeatureCache
from .features import extract_features
from .few_shot import FewShotResult, KShotResult, few_shot_accuracy, kshot_linear_probe
from .head_contribution import HeadContributions, head_contributions, plot_head_contributions
from .knn import knn_accuracy, knn_class_scores
from .linear_probe import PROBE_METHODS, WEIGHT_DECAY_GRID, ConvergenceWarning, LinearProbe, fit_linear_probe
from .record import EvalRecord
from .results import EvalResults, ModelInfo, load_results, results_table, save_results, validate_results
from .retrieval import nearest_neighbours, plot_retrieval
from .rotation_probe import rotation_features
from .sensitivity import SENSITIVITY_AUGMENTATIONS, SensitivityMatrix, augmentation_sensitivity, plot_sensitivity
from .space_selection import SpaceRanking, candidate_keys, select_space

__all__ = [
    "CORRUPTIONS",
    "PROBE_METHODS",
    "SENSITIVITY_AUGMENTATIONS",
    "SEVERITIES",
    "WEIGHT_DECAY_GRID",
    "ConvergenceWarning",
    "Corruption",
    "CorruptionResult",
    "EvalRecord",
    "EvalResults",
    "FeatureCache",
    "FewShotResult",
    "HeadContributions",
    "KShotResult",
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
    "kshot_linear_probe",
    "load_results",
    "nearest_neighbours",
    "plot_head_contributions",
    "plot_retrieval",
    "plot_sensitivity",
    "results_table",
    "rotation_features",
    "save_results",
    "select_space",
    "space_key",
    "validate_results",
]
