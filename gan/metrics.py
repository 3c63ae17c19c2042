"""Sample-quality and diversity metrics measured with the MNIST classifier (classifier.py).

- FID (Heusel et al., 2017): the Frechet distance between Gaussians fitted to the
  classifier's penultimate features of generated and real images,
  ||mu_g - mu_r||^2 + Tr(C_g + C_r - 2 (C_g C_r)^(1/2)). Here on 64 classifier features,
  not Inception's 2048, so its values are not comparable with published FIDs.
- Inception Score (Salimans et al., 2016): exp(E_x KL(p(y|x) || p(y))), with p(y|x) the
  classifier's softmax. Between 1 (one class, or unsure) and 10 (confident, all classes equal).
- Class coverage: the histogram of predicted digits, the number of digits with at least 1%
  of the samples, and the KL divergence of the histogram to the uniform distribution
  (0 when every digit is equally frequent, log 10 = 2.303 when all samples are one digit).
"""
import numpy as np
import scipy.linalg
import torch

from gan.classifier import predict

NUM_CLASSES = 10
METRICS = ("inception_score", "fid", "classes_covered", "kl_uniform")


def frechet_distance(features_a, features_b):
    """FID between two feature sets (N, d) and (M, d)."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():  # nearly singular product: regularise, as the reference code does
        offset = np.eye(a.shape[1]) * 1e-6
        covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


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
    return {"inception_score": inception_score(probs),
            "fid": frechet_distance(features, reference_features),
            **class_coverage(probs)}


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

    The real images are split in two halves A and B (seeded). FID: generated against A, with
    as many generated images as B has; the real baseline is B against A. Inception Score and
    coverage: all generated images, and all real images for the baseline.
    """
    if len(fake) < 2 or len(real) < 4:
        raise ValueError(f"the metrics need at least 2 generated and 4 real images, not {len(fake)} and {len(real)}")
    if not torch.isfinite(fake).all():
        raise ValueError("the generator's samples are not finite (NaN or infinite weights?)")
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    half_a, half_b = order[: len(real) // 2], order[len(real) // 2:]
    probs_real, feats_real = real_predictions or predict(classifier, real)
    probs_fake, feats_fake = predict(classifier, fake)
    fake_metrics = metrics_of(probs_fake, feats_fake[: len(half_b)], feats_real[half_a])
    real_metrics = metrics_of(probs_real, feats_real[half_b], feats_real[half_a])
    fake_metrics.update(n_samples=len(fake), fid_samples=min(len(fake), len(half_b)))
    real_metrics.update(n_samples=len(real), fid_samples=len(half_b))
    return {**fake_metrics, "real": real_metrics}


def evaluate_generator(G, real, classifier, n_samples=10_000, seed=0, device="cpu", real_predictions=None):
    """evaluate_images of n_samples of G; real_predictions = predict(classifier, real) saves recomputing it."""
    fake = generate(G, n_samples, G.latent_dim, seed=seed, device=device)
    return evaluate_images(fake, real, classifier, seed=seed, real_predictions=real_predictions)
