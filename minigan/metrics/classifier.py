"""A small CNN digit classifier, trained with minigan itself: the "Inception net" of MNIST.

The Inception Score and the Fréchet Inception Distance were defined with a large ImageNet
network. For 28x28 digits the usual substitute is a small classifier trained on real
digits: its class probabilities give a classifier-based Inception Score, and its last
hidden layer (128 numbers per image) is the feature space for a Fréchet distance.

    >>> clf = load_digit_classifier()          # trains once (~1 minute), then cached
    >>> probs = classify(clf, images)          # (N, 10) class probabilities
    >>> feats = extract_features(clf, images)  # (N, 128) penultimate features

The weights are cached with `minigan.save` in `cache_dir()/digit_classifier-v1.npz`
(`$MINIGAN_CACHE`, else `~/.cache/minigan`). "v1" names the architecture and recipe: change
either and bump it, so old caches are never loaded into a different network.
"""
import time

import numpy as np

from .. import nn, optim
from .. import random as mg_random
from ..grad_mode import no_grad
from ..nn.utils import eval_mode
from ..serialization import CheckpointError, load, save
from ..tensor import Tensor
from ..data import DataLoader, cache_dir, mnist_5k
from ._arrays import to_numpy

CACHE_NAME = "digit_classifier-v1.npz"
FEATURE_DIM = 128


class DigitClassifier(nn.Module):
    """Conv(1,32,3,p1)-ReLU-MaxPool2 -> Conv(32,64,3,p1)-ReLU-MaxPool2 -> Flatten
    -> Linear(3136,128)-ReLU [the 128 "features"] -> Linear(128,10) [logits].

    Input: (N, 1, 28, 28) images in [-1, 1], like minigan's MNIST-5k and a tanh generator.
    """

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, 64, 7, 7)
            nn.Flatten(),                                                  # (N, 3136)
            nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU())                 # (N, 128)
        self.head = nn.Linear(FEATURE_DIM, 10)                             # (N, 10)

    def features(self, x):
        """The 128 penultimate activations: the space the Fréchet distance is measured in."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"DigitClassifier: expected images of shape (N, 1, 28, 28), "
                             f"got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x):
        """Class logits (N, 10)."""
        return self.head(self.features(x))


# --- inference, in batches ---
def _batched_outputs(classifier, images, what, batch_size):
    """Run `classifier` over `images` in eval mode without a graph; NumPy (N, ...) out."""
    images = to_numpy(images, "images").astype(np.float32, copy=False)
    if images.ndim == 3:                                   # (N, 28, 28) -> (N, 1, 28, 28)
        images = images[:, None]
    outputs = []
    with no_grad(), eval_mode(classifier):                 # inference only, mode given back
        for start in range(0, len(images), batch_size):
            x = Tensor._wrap(np.ascontiguousarray(images[start:start + batch_size]))
            y = classifier.features(x) if what == "features" else classifier(x)
            outputs.append(y.numpy())
    if not outputs:
        width = FEATURE_DIM if what == "features" else 10
        return np.zeros((0, width), dtype=np.float32)
    return np.concatenate(outputs)


def classify(classifier, images, batch_size=500):
    """Class probabilities p(y|x), shape (N, 10), float64 (softmax of the logits)."""
    logits = _batched_outputs(classifier, images, "logits", batch_size).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)            # stable softmax
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def extract_features(classifier, images, batch_size=500):
    """Penultimate features, shape (N, 128), float64."""
    return _batched_outputs(classifier, images, "features", batch_size).astype(np.float64)


def accuracy(classifier, images, labels, batch_size=500):
    """Fraction of `images` whose most probable class is `labels`."""
    predicted = classify(classifier, images, batch_size).argmax(axis=1)
    return float(np.mean(predicted == to_numpy(labels, "labels")))


# --- training ---
def train_digit_classifier(epochs=3, seed=0, verbose=False, batch_size=128, lr=2e-3,
                           train_set=None, test_set=None):
    """Train a `DigitClassifier` on MNIST-5k's train split with Adam; return (model, info).

    The defaults (3 epochs of 4,500 digits, batch 128, lr 2e-3) reach 97.0% test accuracy
    in about 60 s on 2 CPU cores.

    info = {"test_accuracy": float, "seconds": float, "epochs": int}. `train_set` and
    `test_set` default to `mnist_5k("train")` and `mnist_5k("test")`; pass smaller
    datasets for a quick run (the tests do).

    NOTE: the run is seeded with `seed` but the caller's random state is restored after:
    training the classifier lazily in the middle of a GAN evaluation must not change
    what the caller's generator draws next.
    """
    train_set = mnist_5k("train") if train_set is None else train_set
    test_set = mnist_5k("test") if test_set is None else test_set
    saved_state = mg_random.get_rng_state()
    mg_random.manual_seed(seed)
    try:
        start = time.perf_counter()
        model = DigitClassifier()
        opt = optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
        model.train()
        for epoch in range(epochs):
            total, count = 0.0, 0
            for x, y in loader:
                loss = nn.functional.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, count = total + loss.item() * len(y), count + len(y)
            if verbose:
                print(f"digit classifier: epoch {epoch + 1}/{epochs} loss {total / count:.4f} "
                      f"({time.perf_counter() - start:.1f}s)")
        model.eval()
        images, labels = test_set.tensors
        info = {"test_accuracy": accuracy(model, images, labels),
                "seconds": time.perf_counter() - start, "epochs": epochs}
        if verbose:
            print(f"digit classifier: test accuracy {info['test_accuracy']:.4f} "
                  f"after {info['seconds']:.1f}s")
        return model, info
    finally:
        mg_random.set_rng_state(saved_state)


def load_digit_classifier(verbose=False):
    """The trained digit classifier, in eval mode: from the cache, or trained (and cached).

    A missing, truncated or foreign cache file is not an error: we retrain and overwrite
    it (`minigan.save` writes atomically, so a crash never leaves half a file).
    """
    path = cache_dir() / CACHE_NAME
    model = DigitClassifier()
    try:
        checkpoint = load(path)
        model.load_state_dict(checkpoint["model"])
        return model.eval()
    except (FileNotFoundError, CheckpointError, KeyError, TypeError, ValueError,
            RuntimeError) as err:
        if verbose and not isinstance(err, FileNotFoundError):
            print(f"digit classifier: cache {path} unreadable ({err}); retraining")
    model, info = train_digit_classifier(verbose=verbose)
    path.parent.mkdir(parents=True, exist_ok=True)
    save({"model": model.state_dict(), "test_accuracy": info["test_accuracy"],
          "epochs": info["epochs"]}, path)
    return model.eval()
