"""Sample-quality and diversity metrics measured with the MNIST classifier (classifier.py).

- FID (Heusel et al., 2017): the Frechet distance between Gaussians fitted to the
  classifier's penultimate features of generated and real images,
  ||mu_g - mu_r||^2 + Tr(C_g + C_r - 2 (C_g C_r)^(1/2)), by torchmetrics'
  FrechetInceptionDistance in float64. Here on 64 classifier features, not Inception's 2048,
  so its values are not comparable with published FIDs.
- KID (Binkowski et al., 2018): the unbiased squared MMD between the same features with the
  kernel k(x, y) = (x.y / d + 1)^3, averaged over KID_SUBSETS random subsets of
  KID_SUBSET_SIZE features of each set, by torchmetrics' KernelInceptionDistance; 0 in
  expectation when both sets come from one distribution (an estimate may fall below 0).
- Precision and recall (Kynkaenniemi et al., 2019) in the same feature space, with k = 3:
  the fraction of generated features inside the real manifold, and of real features inside
  the generated one (see precision_recall).
- Inception Score (Salimans et al., 2016): exp(E_x KL(p(y|x) || p(y))), with p(y|x) the
  classifier's softmax. Between 1 (one class, or unsure) and 10 (confident, all classes equal).
- Class coverage: the histogram of predicted digits, the number of digits with at least 1%
  of the samples, and the KL divergence of the histogram to the uniform distribution
  (0 when every digit is equally frequent, log 10 = 2.303 when all samples are one digit).

Memorisation, which needs the training images, is in memorisation.py.
"""
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from gan.classifier import MNISTClassifier, predict
from gan.memorisation import inside_balls, kth_neighbour_distances

NUM_CLASSES = 10
METRICS = ("inception_score", "fid", "classes_covered", "kl_uniform")
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
PR_K = 3


class FeatureInput(nn.Module):
    """Lets torchmetrics take precomputed features: (N, d) -> the same (N, d) as float64.

    float64 because torchmetrics casts its FID to the dtype the feature module returns.
    """

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features  # torchmetrics reads it instead of probing with a dummy image

    def forward(self, features):
        return torch.as_tensor(features).double()


class ClassifierFeatures(nn.Module):
    """The classifier's penultimate layer as a torchmetrics feature extractor.

    Inputs: images (N, 1, 28, 28), float in [-1, 1] as they are (torchmetrics converts images
    to uint8 only for its own Inception network; ``normalize`` and ``input_img_size`` do not
    apply, since num_features spares the dummy forward). Outputs: features (N, 64) float64.
    """
    num_features = MNISTClassifier.feature_dim

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier.eval()

    def train(self, mode=True):
        return super().train(False)  # BatchNorm keeps its running statistics whatever the metric's mode

    @torch.no_grad()
    def forward(self, images):
        device = next(self.classifier.parameters()).device
        return self.classifier.features(images.to(device)).double().cpu()


def fid_metric(feature):
    """torchmetrics' FID on ``feature`` (FeatureInput or ClassifierFeatures); reset() keeps the real statistics.

    metric.update(real, real=True) once, then fid_against(metric, fake) as often as needed.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # takes seconds: only when measuring
    return FrechetInceptionDistance(feature=feature, reset_real_features=False)


def fid_against(metric, fake):
    """FID of fake (features (N, d), or images for ClassifierFeatures) against the real statistics metric holds."""
    metric.reset()  # drops the previous generated statistics only (reset_real_features=False)
    metric.update(fake, real=False)
    return float(metric.compute())


def frechet_distance(features_a, features_b):
    """FID between two feature sets (N, d) and (M, d): ||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))."""
    features_a, features_b = torch.as_tensor(features_a), torch.as_tensor(features_b)
    metric = fid_metric(FeatureInput(features_a.shape[1]))
    metric.update(features_b, real=True)
    return fid_against(metric, features_a)


def kernel_inception_distance(features_a, features_b, subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=0):
    """(mean, std) over subsets of the unbiased MMD^2 between features_a (N, d) and features_b (M, d)
    with k(x, y) = (x.y / d + 1)^3; each subset draws min(subset_size, N, M) features of each set
    (one subset only when that is all of both).

    Seeded, and the global random state is left as it was (torchmetrics draws the subsets from it).
    """
    from torchmetrics.image.kid import KernelInceptionDistance  # takes seconds: only when measuring
    features_a, features_b = torch.as_tensor(features_a), torch.as_tensor(features_b)
    size = min(subset_size, len(features_a), len(features_b))
    if size == max(len(features_a), len(features_b)):
        subsets = 1  # every subset would be both whole sets
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Metric `Kernel Inception Distance` will save")  # a few MB here
        metric = KernelInceptionDistance(feature=FeatureInput(features_a.shape[1]), subsets=subsets, subset_size=size)
    metric.update(features_b, real=True)
    metric.update(features_a, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def precision_recall(fake_features, real_features, k=PR_K, real_radii=None):
    """Improved precision and recall (Kynkaenniemi et al., 2019) of fake_features (N, d) against real_features (M, d).

    A set's manifold is the union of balls around its points with radius the distance to the
    point's k-th nearest other point: f(x, S) = [exists s in S: ||x - s|| <= ||s - NN_k(s)||].
    precision = mean_fake f(fake, real); recall = mean_real f(real, fake).
    real_radii (M,): kth_neighbour_distances(real_features, k), when already known.
    Both are None (undefined) when a set has k points or fewer.
    """
    if min(len(fake_features), len(real_features)) <= k:
        return {"precision": None, "recall": None}
    if real_radii is None:
        real_radii = kth_neighbour_distances(real_features, k)
    fake_radii = kth_neighbour_distances(fake_features, k)
    return {"precision": inside_balls(fake_features, real_features, real_radii).double().mean().item(),
            "recall": inside_balls(real_features, fake_features, fake_radii).double().mean().item()}


def inception_score(probs, eps=1e-12):
    """exp(E_x KL(p(y|x) || p(y))) of class probabilities (N, K)."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    marginal = p.mean(0, keepdim=True)
    kl = (p * (torch.log(p + eps) - torch.log(marginal + eps))).sum(1)
    return float(torch.exp(kl.mean()))


def kl_to_uniform(histogram):
    """KL(h || uniform) of a histogram of counts or frequencies; 0 log 0 = 0."""
    h = torch.as_tensor(histogram, dtype=torch.float64)
    h = h / h.sum()
    nz = h > 0
    return float((h[nz] * torch.log(h[nz] * len(h))).sum())


def class_coverage(probs, threshold=0.01):
    """Histogram of the predicted classes, classes holding >= threshold of the samples, KL to uniform."""
    predicted = torch.as_tensor(probs).argmax(1)
    counts = torch.bincount(predicted, minlength=NUM_CLASSES)
    freq = counts.double() / counts.sum()
    return {"class_histogram": counts.tolist(),
            "classes_covered": int((freq >= threshold).sum()),
            "kl_uniform": kl_to_uniform(counts)}


def metrics_of(probs, features, reference_features):
    """Inception Score and coverage of probs (N, 10), FID of features (N', 64) against reference_features (M, 64)."""
    return {"inception_score": inception_score(probs),
            "fid": frechet_distance(features, reference_features),
            **class_coverage(probs)}


@dataclass
class RealReference:
    """Real images prepared once for many evaluations: build it with real_reference().

    features_a (n_a, 64): the features of half A, what samples are compared with; fid: a
    torchmetrics FID holding half A's moments; radii_a (n_a,): each A feature's distance to its
    PR_K-th nearest other (precision's manifold; None when n_a <= PR_K); n_b: the size of half B,
    and how many samples enter FID, KID, precision and recall; seed: of the split and KID's
    subsets; real: the metrics of the real images (B against A), computed once.
    """
    features_a: torch.Tensor
    fid: nn.Module
    radii_a: torch.Tensor
    n_b: int
    seed: int
    real: dict = None


def compare(probs, features, reference):
    """IS and coverage of probs (N, 10); FID, KID, precision and recall of features[:n_b] (64 each) against half A."""
    features = features[: reference.n_b]
    kid, kid_std = kernel_inception_distance(features, reference.features_a, seed=reference.seed)
    return {"inception_score": inception_score(probs), "fid": fid_against(reference.fid, features),
            "kid": kid, "kid_std": kid_std,
            **precision_recall(features, reference.features_a, real_radii=reference.radii_a),
            **class_coverage(probs)}


def real_reference(real, classifier, seed=0, real_predictions=None):
    """Real images (N, 1, 28, 28) in [-1, 1], split in two halves A and B (seeded), ready for evaluate_against.

    real_predictions = predict(classifier, real) saves recomputing it. The real baseline is
    B against A: Inception Score and coverage of all N real images, the rest of B's features.
    """
    if len(real) < 4:
        raise ValueError(f"the metrics need at least 4 real images, not {len(real)}")
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    half_a, half_b = order[: len(real) // 2], order[len(real) // 2:]
    probs, features = real_predictions or predict(classifier, real)
    fid = fid_metric(FeatureInput(features.shape[1]))
    fid.update(features[half_a], real=True)
    radii = kth_neighbour_distances(features[half_a], PR_K) if len(half_a) > PR_K else None
    reference = RealReference(features[half_a], fid, radii, len(half_b), seed)
    reference.real = {**compare(probs, features[half_b], reference), "n_samples": len(real),
                      "fid_samples": len(half_b)}
    return reference


def check_samples(fake):
    if len(fake) < 2:
        raise ValueError(f"the metrics need at least 2 generated images, not {len(fake)}")
    if not torch.isfinite(fake).all():
        raise ValueError("the generator's samples are not finite (NaN or infinite weights?)")


def evaluate_against(fake, reference, classifier):
    """Metrics of generated images fake (N, 1, 28, 28) in [-1, 1] against a real_reference, with the
    real images' own metrics under "real".

    FID, KID, precision and recall: the first min(N, n_b) samples against half A; Inception
    Score and coverage: all N samples.
    """
    check_samples(fake)
    probs, features = predict(classifier, fake)
    metrics = compare(probs, features, reference)
    metrics.update(n_samples=len(fake), fid_samples=min(len(fake), reference.n_b))
    return {**metrics, "real": dict(reference.real)}


@torch.no_grad()
def generate(G, n, latent_dim, seed=0, batch_size=1000, device="cpu"):
    """n samples of G in eval mode, from noise of a private generator (global RNG untouched)."""
    was_training = G.training
    G.eval()
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), latent_dim, generator=gen).to(device)
        out.append(G(z).cpu())
    G.train(was_training)
    return torch.cat(out)


def evaluate_images(fake, real, classifier, seed=0, real_predictions=None):
    """Metrics of generated images against real ones, and the same metrics for real data.

    The real images are split in two halves A and B (seeded). FID, KID, precision and recall:
    generated against A, with as many generated images as B has; the real baseline is B
    against A. Inception Score and coverage: all generated images, and all real images for the
    baseline. To evaluate many generators against the same real images, build
    real_reference() once and call evaluate_against().
    """
    if len(fake) < 2 or len(real) < 4:
        raise ValueError(f"the metrics need at least 2 generated and 4 real images, not {len(fake)} and {len(real)}")
    check_samples(fake)
    return evaluate_against(fake, real_reference(real, classifier, seed, real_predictions), classifier)


def evaluate_generator(G, real, classifier, n_samples=10_000, seed=0, device="cpu", real_predictions=None):
    """evaluate_images of n_samples of G; real_predictions = predict(classifier, real) saves recomputing it."""
    fake = generate(G, n_samples, G.latent_dim, seed=seed, device=device)
    return evaluate_images(fake, real, classifier, seed=seed, real_predictions=real_predictions)
