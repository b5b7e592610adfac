"""minigan.metrics: how good, how diverse, how new are a generator's samples?

2-D mixtures (`toy.py`):
    >>> ring = ring_of_gaussians(10_000)
    >>> evaluate_toy(G(z).detach(), ring)      # {"modes_covered": 8, "num_modes": 8, ...}

Digits (`digits.py`), measured with a small CNN trained with minigan on MNIST-5k
(`classifier.py`, trained on first use, then cached):
    >>> evaluate_digits(G(z).detach())         # IS, FID, class histogram, memorisation
    >>> real_digit_reference()                 # the same figures for real digits

The building blocks work on any probabilities/features (`scores.py`) and images
(`memorisation.py`); every function takes minigan Tensors or NumPy arrays.
"""
from .classifier import (DigitClassifier, accuracy, classify, extract_features,
                         load_digit_classifier, train_digit_classifier)
from .digits import (class_coverage, class_histogram, classifier_frechet_distance,
                     classifier_inception_score, evaluate_digits, real_digit_reference)
from .memorisation import memorisation_check, nearest_neighbour_distances
from .scores import (feature_statistics, frechet_distance, inception_score,
                     inception_score_splits, sqrtm_psd)
from .toy import default_min_count, evaluate_toy, mode_coverage

__all__ = ["mode_coverage", "default_min_count", "evaluate_toy",
           "inception_score", "inception_score_splits", "feature_statistics",
           "frechet_distance", "sqrtm_psd",
           "nearest_neighbour_distances", "memorisation_check",
           "DigitClassifier", "train_digit_classifier", "load_digit_classifier",
           "classify", "extract_features", "accuracy",
           "classifier_inception_score", "classifier_frechet_distance", "class_histogram",
           "class_coverage", "evaluate_digits", "real_digit_reference"]
