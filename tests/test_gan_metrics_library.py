"""Part 2: the metrics computed by torchmetrics agree with the formulas they replace, and the
evaluation functions keep their keys while reusing the real images' statistics.
"""
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
from torchmetrics.image.inception import InceptionScore  # imported here: torchmetrics takes seconds to import

from gan.classifier import MNISTClassifier, predict
from gan.metrics import (METRICS, ClassifierFeatures, FeatureInput, evaluate_against, evaluate_images, fid_against,
                         fid_metric, frechet_distance, inception_score, kernel_inception_distance, real_reference)

KEYS = set(METRICS) | {"class_histogram", "kid", "kid_std", "precision", "recall", "n_samples", "fid_samples"}


def scipy_frechet_distance(a, b):
    """The FID this repository computed before torchmetrics: scipy's matrix square root of C_a C_b."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def test_fid_equals_the_scipy_formula_on_random_features():
    # Correlated, shifted, ReLU'd like the classifier's features; 64 of them, as in the evaluation.
    mix_a, mix_b = torch.randn(64, 64) / 8, torch.randn(64, 64) / 8
    a = (torch.randn(3000, 64) @ mix_a + 0.5).relu()
    b = (torch.randn(2000, 64) @ mix_b + 0.6).relu()
    expected = scipy_frechet_distance(a, b)
    assert expected > 0.1
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_from_images_equals_fid_from_features_and_keeps_the_real_statistics():
    classifier = MNISTClassifier().eval()
    real, fake_1, fake_2 = (torch.rand(n, 1, 28, 28) * 2 - 1 for n in (200, 150, 150))
    (_, f_real), (_, f_1), (_, f_2) = (predict(classifier, x) for x in (real, fake_1, fake_2))
    metric = fid_metric(ClassifierFeatures(classifier))
    metric.update(real, real=True)
    for fake, features in ((fake_1, f_1), (fake_2, f_2), (fake_1, f_1)):  # reset() keeps the real images
        assert fid_against(metric, fake) == pytest.approx(frechet_distance(features, f_real), rel=1e-6)
    assert metric.train().inception.classifier.training is False, "BatchNorm must stay in eval mode"


def test_inception_score_equals_torchmetrics_with_one_split():
    def torchmetrics_is(probs):
        # torchmetrics takes logits; log p is a logit of p (clamped: log 0 = -inf makes 0 * inf = NaN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the buffer warning, and std() of a single split
            metric = InceptionScore(feature=FeatureInput(10), splits=1)
            metric.update(probs.clamp_min(1e-30).log())
            return metric.compute()[0].item()

    probs = torch.distributions.Dirichlet(torch.full((10,), 0.3)).sample((2000,)).double()
    assert inception_score(probs) == pytest.approx(torchmetrics_is(probs), rel=1e-9)
    one_hot = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).double()
    assert inception_score(one_hot) == pytest.approx(10) and torchmetrics_is(one_hot) == pytest.approx(10)
    uniform = torch.full((1000, 10), 0.1, dtype=torch.float64)
    assert inception_score(uniform) == pytest.approx(1) and torchmetrics_is(uniform) == pytest.approx(1)


def test_kid_is_seeded_and_leaves_the_global_random_state_alone():
    a, b = torch.randn(300, 8), torch.randn(300, 8) + 0.3
    state = torch.get_rng_state()
    first = kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=1) == first
    assert kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=2) != first


def test_evaluate_images_keys_and_a_reused_reference():
    classifier = MNISTClassifier().eval()
    real, fake = torch.rand(240, 1, 28, 28) * 2 - 1, torch.rand(100, 1, 28, 28) * 2 - 1
    result = evaluate_images(fake, real, classifier, seed=3)
    assert set(result) == KEYS | {"real"} and set(result["real"]) == KEYS
    assert result["fid_samples"] == 100 and result["real"]["fid_samples"] == 120
    assert 0 <= result["precision"] <= 1 and 0 <= result["real"]["recall"] <= 1
    reference = real_reference(real, classifier, seed=3, real_predictions=predict(classifier, real))
    for _ in range(2):  # the reference's FID object is reset between uses
        assert evaluate_against(fake, reference, classifier) == result
    with pytest.raises(ValueError, match="not finite"):
        evaluate_against(torch.full((4, 1, 28, 28), float("nan")), reference, classifier)
