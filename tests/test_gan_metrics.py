"""Part 2: the metrics on inputs with known answers, and the committed evaluation classifier."""
import math
import os

import pytest
import torch

from gan.classifier import MNISTClassifier, load_classifier, predict, random_affine
from gan.memorisation import kth_neighbour_distances, memorisation, memorisation_threshold, nearest_neighbours
from gan.metrics import (class_coverage, frechet_distance, inception_score, kernel_inception_distance, kl_to_uniform,
                         precision_recall)
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


def test_fid_is_computed_in_float64():
    # Equal covariances, means apart by delta: FID = |delta|^2 = 1.6e-7, far below float32's
    # rounding of the trace terms (Tr C ~ 16, eps 6e-8), so a float32 path fails here.
    a = torch.randn(5000, 16, dtype=torch.float64)
    delta = torch.full((16,), 1e-4, dtype=torch.float64)
    assert frechet_distance(a + delta, a) == pytest.approx(delta.square().sum().item(), rel=1e-6)


def test_kid_of_a_hand_computed_pair():
    # d = 1, k(x, y) = (x y + 1)^3: sets {0, 0} and {1, 1} give k(0, 0) + k(1, 1) - 2 k(0, 1) = 1 + 8 - 2.
    a, b = torch.zeros(2, 1), torch.ones(2, 1)
    assert kernel_inception_distance(a, b, subsets=1, subset_size=2) == pytest.approx((7.0, 0.0))


def test_kid_of_identical_sets_is_its_small_bias_and_of_shifted_sets_positive():
    f = torch.randn(500, 8, dtype=torch.float64)
    # One subset of all m points of a set against itself: the unbiased estimate is exactly
    # 2 (mean K - mean diag K) / (m - 1) = -O(1/m), K the kernel matrix.
    k = (f @ f.T / 8 + 1) ** 3
    bias = 2 * (k.mean() - k.diagonal().mean()).item() / (len(f) - 1)
    assert kernel_inception_distance(f, f, subsets=1, subset_size=500)[0] == pytest.approx(bias, rel=1e-9)
    same = kernel_inception_distance(f, torch.randn(500, 8, dtype=torch.float64), subset_size=200)[0]
    shifted = kernel_inception_distance(f, torch.randn(500, 8, dtype=torch.float64) + 1, subset_size=200)[0]
    assert shifted > 0 and shifted > 20 * abs(same)


def test_precision_recall_of_identical_and_of_separated_sets():
    a = torch.randn(300, 8)
    assert precision_recall(a, a) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(a + 100, a) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_of_samples_covering_half_the_clusters():
    # Four 5x5 grids of spacing 1, 100 apart: a point's 3rd neighbour is 1 (or sqrt 2) away, in
    # its own grid. The samples: the first two grids shifted by (0.25, 0.25), each within 0.36
    # of a real point and vice versa, so precision is 1 and recall 2 grids of 4.
    grid = torch.stack(torch.meshgrid(torch.arange(5.0), torch.arange(5.0), indexing="ij"), -1).reshape(-1, 2)
    centres = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    real = torch.cat([grid + c for c in centres])
    fake = torch.cat([grid + c + 0.25 for c in centres[:2]])
    assert precision_recall(fake, real) == {"precision": 1.0, "recall": 0.5}


def test_precision_recall_by_hand_in_one_dimension():
    real = torch.tensor([0.0, 1, 2, 3, 4, 20, 21, 22, 23]).unsqueeze(1)
    fake = torch.tensor([0.5, 1.5, 2.5, 3.5, 7.5]).unsqueeze(1)
    # 3rd nearest other point: real radii give the balls [-3, 3], [-1, 3], [0, 4], [1, 5], [1, 7],
    # [17, 23], [19, 23], [20, 24], [20, 26]; the fake ones [-2.5, 3.5], [-0.5, 3.5], [0.5, 4.5],
    # [0.5, 6.5], [1.5, 13.5]. Inside the real balls: 0.5, 1.5, 2.5, 3.5, not 7.5 (4 of 5);
    # inside the fake balls: 0 to 4, not 20 to 23 (5 of 9).
    assert kth_neighbour_distances(real, 3).tolist() == pytest.approx([3, 2, 2, 2, 3, 3, 2, 2, 3], abs=1e-6)
    assert kth_neighbour_distances(fake, 3).tolist() == pytest.approx([3, 2, 2, 3, 6], abs=1e-6)
    assert precision_recall(fake, real) == pytest.approx({"precision": 4 / 5, "recall": 5 / 9})
    # 7.5 moved to 12.5: still outside the real balls, but its 3rd neighbour is 11 away, and
    # its ball [1.5, 23.5] covers the second real cluster (how one outlier inflates recall).
    fake[-1] = 12.5
    assert precision_recall(fake, real) == pytest.approx({"precision": 4 / 5, "recall": 1.0})


def test_chunked_neighbours_match_brute_force():
    a, b = torch.rand(70, 30), torch.rand(90, 30)
    d = torch.cdist(a.double(), b.double())
    distance, index = nearest_neighbours(a, b, chunk=16)
    assert torch.equal(index, d.argmin(1)) and torch.allclose(distance, d.min(1).values, atol=1e-12)
    within = torch.cdist(b.double(), b.double()).fill_diagonal_(float("inf"))
    assert torch.allclose(kth_neighbour_distances(b, 3, chunk=16), within.sort(1).values[:, 2], atol=1e-9)


def digit_like(n, prototypes, gen):
    """n images (n, 784) near the prototypes (10, 784): a prototype plus N(0, 0.1^2) pixel noise."""
    return prototypes[torch.randint(10, (n,), generator=gen)] + 0.1 * torch.randn(n, 784, generator=gen)


def test_memorisation_of_copies_of_fresh_noise_and_of_the_test_split():
    gen = torch.Generator().manual_seed(0)
    prototypes = torch.rand(10, 784, generator=gen) * 2 - 1
    train, test = digit_like(2000, prototypes, gen), digit_like(1000, prototypes, gen)
    threshold = memorisation_threshold(test, train)
    # 1000 distinct distances: the 1st percentile lies between the 10th and the 11th smallest
    assert threshold["memorised"] == 0.01 and threshold["percentile"] == 1.0 and threshold["threshold"] > 0
    assert 0 <= threshold["held_out_memorised"] <= 0.05
    copies = memorisation(train[torch.randperm(2000, generator=gen)[:300]], train, threshold)
    assert copies["memorised"] == 1.0 and copies["threshold"] == threshold["threshold"]
    noise = memorisation(torch.rand(300, 784, generator=gen) * 2 - 1, train, threshold)
    assert noise["memorised"] == 0.0 and noise["n_samples"] == 300
    with pytest.raises(ValueError, match="float"):
        memorisation_threshold(test.to(torch.uint8), train)


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
    assert record["split"] == "train" and record["evaluated_against"] == "test"
    assert record["held_out_accuracy"] >= 0.995 and record["held_out_size"] == 10_000
    assert not model.training


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="../shared/data is not present")
def test_committed_classifier_accuracy_reproduces_on_its_held_out_images():
    model, record = load_classifier()
    splits, _ = make_splits(record["split"], SHARED_MNIST, seed=0)
    x_held, y_held = splits["held_out"]
    probs, _ = predict(model, x_held)
    assert (probs.argmax(1) == y_held).float().mean().item() == pytest.approx(record["held_out_accuracy"], abs=1e-6)
