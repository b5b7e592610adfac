"""Metrics for generated 28x28 digits, all measured with the digit classifier.

    >>> report = evaluate_digits(fake)          # fake: (N, 1, 28, 28) in [-1, 1]
    >>> real = real_digit_reference()           # the same figures for real test digits
    >>> report["inception_score"], real["inception_score"]

- `classifier_inception_score`: is each digit recognisable, and are all ten used?
- `classifier_frechet_distance`: do the digits' features match real digits' features
  (mean and covariance)? Lower is better.
- `class_histogram` / `class_coverage`: how many of each digit the generator makes.
- memorisation: does it copy its training images? (see `memorisation.py`)

Scores from different classifiers are not comparable: these are "classifier IS / FID",
not the Inception-network numbers in papers. Compare a generator with
`real_digit_reference()`, measured with the same classifier.
"""
import numpy as np

from ..data import mnist_5k
from ._arrays import to_numpy
from .classifier import classify, extract_features, load_digit_classifier
from .memorisation import memorisation_check
from .scores import feature_statistics, frechet_distance, inception_score

NUM_CLASSES = 10


def _classifier(classifier):
    return load_digit_classifier() if classifier is None else classifier


def classifier_inception_score(images, classifier=None, splits=1):
    """Inception Score of `images` (N, 1, 28, 28) with the digit classifier: 1 to 10.

    Real MNIST digits score close to 10 (see `real_digit_reference()`).
    """
    return inception_score(classify(_classifier(classifier), images), splits)


def classifier_frechet_distance(images_a, images_b, classifier=None):
    """Fréchet distance between the classifier features of two sets of images."""
    classifier = _classifier(classifier)
    stats_a = feature_statistics(extract_features(classifier, images_a))
    stats_b = feature_statistics(extract_features(classifier, images_b))
    return frechet_distance(*stats_a, *stats_b)


def class_histogram(images, classifier=None):
    """How many of `images` the classifier puts in each class: (10,) int64 counts."""
    predicted = classify(_classifier(classifier), images).argmax(axis=1)     # (N,)
    return np.bincount(predicted, minlength=NUM_CLASSES)


def class_coverage(counts):
    """From a class histogram: {"classes_present", "fraction_present", "entropy",
    "normalized_entropy"}.

    entropy is in nats, of the predicted-class distribution; normalized_entropy divides by
    log(10), so 1 means all ten digits equally often and 0 means a single digit (the
    signature of mode collapse).
    """
    counts = to_numpy(counts, "class_coverage: counts").astype(np.float64)
    present = int(np.sum(counts > 0))
    p = counts[counts > 0] / counts.sum() if counts.sum() > 0 else np.zeros(0)
    entropy = float(-np.sum(p * np.log(p)))
    return {"classes_present": present,
            "fraction_present": present / len(counts),
            "entropy": entropy,
            "normalized_entropy": entropy / np.log(len(counts))}


def _class_figures(probs):
    """Inception Score, class histogram and its coverage, from (N, 10) probabilities."""
    counts = np.bincount(probs.argmax(axis=1), minlength=NUM_CLASSES)        # (10,)
    return {"num_images": len(probs), "inception_score": inception_score(probs),
            "class_histogram": counts, **class_coverage(counts)}


def evaluate_digits(images, classifier=None, reference="test"):
    """All digit metrics for generated `images` (N, 1, 28, 28) in [-1, 1], as a dict:

    inception_score, frechet_distance (against the real `reference` split of MNIST-5k),
    class_histogram, classes_present, fraction_present, entropy, normalized_entropy,
    memorisation (nearest-train distances vs held-out real digits; see memorisation_check).

    reference: "test" (500 real digits the classifier and the GAN never trained on) or
    "all" (all 5,000, for a steadier FID when comparing models; then the memorisation
    check still uses the test split as its held-out yardstick).

    Use at least as many generated images as reference images: FID is biased upwards for
    small samples (a covariance estimated from few points is noisy).
    """
    images = to_numpy(images, "evaluate_digits: images")
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"evaluate_digits: expected images of shape (N, 1, 28, 28) in "
                         f"[-1, 1], got {images.shape}")
    if reference not in ("test", "all"):
        raise ValueError(f"evaluate_digits: reference must be 'test' or 'all', "
                         f"got {reference!r}")
    classifier = _classifier(classifier)
    train = mnist_5k("train").tensors[0].numpy()                 # (4500, 1, 28, 28)
    test = mnist_5k("test").tensors[0].numpy()                   # (500, 1, 28, 28)
    fid_reference = test if reference == "test" else mnist_5k("all").tensors[0].numpy()
    report = _class_figures(classify(classifier, images))
    report["frechet_distance"] = classifier_frechet_distance(images, fid_reference, classifier)
    report["memorisation"] = memorisation_check(images, train, reference=test)
    report["reference"] = reference
    return report


def real_digit_reference(classifier=None, num_images=500):
    """The yardstick: `evaluate_digits`' figures for real digits.

    The "generated" images are `num_images` real *training* digits, compared with the real
    test split like a generator would be: their IS is what a perfect generator scores,
    their FID is the floor set by sampling noise alone (two independent sets of real
    digits are not at distance 0). FID depends on the sample size (it is biased upwards for
    few images), so compare with a generated set of the same `num_images`. The
    memorisation figures are left out: these ARE training images (distance 0, all copies).
    """
    classifier = _classifier(classifier)
    train = mnist_5k("train").tensors[0].numpy()
    test = mnist_5k("test").tensors[0].numpy()
    real = train[:num_images]                   # the train split comes shuffled
    report = _class_figures(classify(classifier, real))
    report["frechet_distance"] = classifier_frechet_distance(real, test, classifier)
    # The classifier trained on `real`, so it is a little surer of them than of new
    # digits; the test split's own IS shows the size of that effect.
    report["inception_score_test"] = classifier_inception_score(test, classifier)
    report["reference"] = "test"
    return report
