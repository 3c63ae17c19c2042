"""Part 2: the metrics on inputs with known answers, and the committed evaluation classifier."""
import math
import os

import pytest
import torch

from gan.classifier import MNISTClassifier, load_classifier, predict, random_affine
from gan.metrics import class_coverage, frechet_distance, inception_score, kl_to_uniform
from part2_gan.train_classifier import make_splits
from tests.conftest import SHARED_MNIST


def test_fid_of_identical_sets_is_zero():
    f = torch.randn(2000, 16)
    assert abs(frechet_distance(f, f)) < 1e-6


def test_fid_of_gaussians_with_known_moments():
    # N(0, I) against N(d, 4I) in 8 dimensions: |d|^2 + Tr(I + 4I - 2*2I) = |d|^2 + 8.
    torch.manual_seed(0)
    d = torch.full((8,), 0.5)
    a = torch.randn(200_000, 8)
    b = 2 * torch.randn(200_000, 8) + d
    assert abs(frechet_distance(a, b) - (d.square().sum().item() + 8)) < 0.1


def test_inception_score_extremes():
    labels = torch.arange(10_000) % 10
    assert abs(inception_score(torch.nn.functional.one_hot(labels, 10).float()) - 10) < 1e-6
    one_class = torch.zeros(1000, 10)
    one_class[:, 3] = 1
    assert abs(inception_score(one_class) - 1) < 1e-6
    unsure = torch.full((1000, 10), 0.1)
    assert abs(inception_score(unsure) - 1) < 1e-6


def test_coverage_of_one_class_and_of_all_classes():
    one = torch.zeros(10_000, 10)
    one[:, 7] = 1
    cov = class_coverage(one)
    assert cov["classes_covered"] == 1 and abs(cov["kl_uniform"] - math.log(10)) < 1e-9
    assert cov["class_histogram"][7] == 10_000
    even = torch.nn.functional.one_hot(torch.arange(10_000) % 10, 10).float()
    cov = class_coverage(even)
    assert cov["classes_covered"] == 10 and abs(cov["kl_uniform"]) < 1e-12
    # digit 0 with 0.5% of the samples is not covered; the nine others are
    labels = torch.cat([torch.zeros(50, dtype=torch.long), 1 + torch.arange(9_950) % 9])
    assert class_coverage(torch.nn.functional.one_hot(labels, 10).float())["classes_covered"] == 9
    skewed = torch.tensor([990, 10] + [0] * 8)
    assert abs(kl_to_uniform(skewed) - (0.99 * math.log(9.9) + 0.01 * math.log(0.1))) < 1e-9


def test_classifier_shapes_and_augmentation():
    model = MNISTClassifier()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert model(x).shape == (4, 10) and model.features(x).shape == (4, 64)
    probs, feats = predict(model, x, batch_size=3)
    assert probs.shape == (4, 10) and torch.allclose(probs.sum(1), torch.ones(4)) and feats.shape == (4, 64)
    blank = -torch.ones(3, 1, 28, 28)
    assert torch.allclose(random_affine(blank), blank, atol=1e-6), "background stays background"
    moved = random_affine(x)
    assert moved.shape == x.shape and not torch.allclose(moved, x)


def test_committed_classifier_record():
    model, record = load_classifier()
    assert record["held_out_accuracy"] >= 0.99 and record["held_out_size"] == 2000
    assert not model.training


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="../shared/data is not present")
def test_committed_classifier_accuracy_reproduces_on_its_held_out_images():
    model, record = load_classifier()
    splits, _ = make_splits(record["split"], SHARED_MNIST, seed=0)
    x_held, y_held = splits["held_out"]
    probs, _ = predict(model, x_held)
    assert (probs.argmax(1) == y_held).float().mean().item() == pytest.approx(record["held_out_accuracy"], abs=1e-6)
