"""Nearest neighbours by chunked matrix products, and how much a generator memorises.

Squared distances come from ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, clamped at 0, for one block
of ``chunk`` queries against all references at a time: a block is (chunk, M) numbers, never
(N, M), and one matrix product, so 10,000 generated images against MNIST's 60,000 training
images (784 pixels) take seconds, where a Python loop over pairs would take hours.

Memorisation (the nearest-training-image test of generative-model evaluation): with
d(x) = min_j ||x - t_j|| the Euclidean pixel distance of an image x to its nearest training
image t_j, and tau the ``percentile``-th percentile of d over the test images,

    memorised = (1/N) sum_i [d(x_i) < tau]

of N generated images x_i. Unseen real images give percentile / 100 (1% by default); a
generator that copies its training images gives up to 100%.
"""
import torch

CHUNK = 512
PERCENTILE = 1.0


def flat(x, dtype):
    """x (N, ...) as (N, D) in dtype."""
    x = torch.as_tensor(x)
    return x.reshape(len(x), -1).to(dtype)


def squared_distance_blocks(queries, references, chunk=CHUNK):
    """Yield (start, d2): d2 (n, M) = ||q_i - r_j||^2 for the queries[start:start + n] of queries
    (N, D) and references (M, D), n <= chunk.
    """
    if queries.shape[1] != references.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dimensions and references {references.shape[1]}")
    # Distances do not move with the origin, and around the references' mean the norms are
    # smaller, so the expansion loses fewer digits to cancellation.
    centre = references.mean(0)
    references = references - centre
    r2 = references.square().sum(1)
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk] - centre
        d2 = torch.addmm(r2, q, references.T, alpha=-2).add_(q.square().sum(1, keepdim=True))
        yield start, d2.clamp_(min=0)


def nearest_neighbours(queries, references, chunk=CHUNK, dtype=torch.float32):
    """Distances (N,) float64 and indices (N,) of the nearest of references (M, ...) to each of queries (N, ...).

    The search runs in dtype; the distance to the neighbour found is then recomputed as
    ||q - r|| in float64, so that an exact copy lies at distance 0.
    """
    q, r = flat(queries, dtype), flat(references, dtype)
    index = torch.empty(len(q), dtype=torch.long)
    for start, d2 in squared_distance_blocks(q, r, chunk):
        index[start:start + len(d2)] = d2.argmin(1)
    nearest = flat(torch.as_tensor(references)[index], torch.float64)
    return (flat(queries, torch.float64) - nearest).norm(dim=1), index


def kth_neighbour_distances(points, k, chunk=CHUNK, dtype=torch.float64):
    """(N,) distance of each of points (N, ...) to its k-th nearest other point (itself excluded)."""
    p = flat(points, dtype)
    if len(p) <= k:
        raise ValueError(f"{len(p)} points have no {k}-th nearest other point")
    kth = torch.empty(len(p), dtype=dtype)
    for start, d2 in squared_distance_blocks(p, p, chunk):
        rows = torch.arange(len(d2))
        d2[rows, start + rows] = float("inf")  # a point is not its own neighbour
        kth[start:start + len(d2)] = d2.topk(k, dim=1, largest=False).values[:, -1]
    return kth.sqrt()


def inside_balls(queries, centres, radii, chunk=CHUNK, dtype=torch.float64):
    """(N,) bool: whether query i lies in a ball, min_j (||q_i - c_j|| - radii_j) <= 0, for
    queries (N, ...), centres (M, ...) and radii (M,).
    """
    q, c = flat(queries, dtype), flat(centres, dtype)
    r2 = torch.as_tensor(radii).to(dtype).square()
    inside = torch.empty(len(q), dtype=torch.bool)
    for start, d2 in squared_distance_blocks(q, c, chunk):
        inside[start:start + len(d2)] = (d2 <= r2).any(1)
    return inside


def pixels(images, what):
    """images (N, ...) as they are, once checked to be float images (the scale of both sets must agree)."""
    images = torch.as_tensor(images)
    if not images.is_floating_point() or len(images) == 0:
        raise ValueError(f"{what}: expected a non-empty float tensor of images in [-1, 1], got {images.dtype} "
                         f"{tuple(images.shape)}")
    return images


def memorisation_threshold(test_images, train_images, percentile=PERCENTILE, seed=0, chunk=CHUNK):
    """The distance below which a sample counts as memorised, from real unseen images.

    Inputs: test_images (N, 1, 28, 28) and train_images (M, 1, 28, 28), both in [-1, 1].
    Outputs: {threshold: tau, the percentile-th percentile (linear interpolation) of
    d(x) = min_j ||x - t_j|| over the test images; percentile; memorised: the test images'
    own fraction with d < tau (percentile / 100 by construction, up to ties);
    held_out_memorised: the fraction of a random half B of the test images (seeded) below the
    threshold of the other half A, what unseen images score against a threshold that did not
    see them; n_samples: N}. Compute it once and pass it to memorisation().
    """
    d, _ = nearest_neighbours(pixels(test_images, "test images"), pixels(train_images, "training images"), chunk)
    q = percentile / 100
    order = torch.randperm(len(d), generator=torch.Generator().manual_seed(seed))
    half_a, half_b = d[order[: len(d) // 2]], d[order[len(d) // 2:]]
    threshold = torch.quantile(d, q).item()
    held_out = (half_b < torch.quantile(half_a, q)).double().mean().item() if len(half_a) else float("nan")
    return {"threshold": threshold, "percentile": percentile, "memorised": (d < threshold).double().mean().item(),
            "held_out_memorised": held_out, "n_samples": len(d)}


def memorisation(fake, train_images, threshold, chunk=CHUNK):
    """Fraction of the generated images fake (N, 1, 28, 28) in [-1, 1] closer to their nearest
    training image (train_images (M, 1, 28, 28)) than threshold["threshold"] (see the module's
    equation). threshold: what memorisation_threshold returned for the same training images.

    Outputs: {memorised, threshold (the distance tau), percentile, n_samples: N}.
    """
    d, _ = nearest_neighbours(pixels(fake, "generated images"), pixels(train_images, "training images"), chunk)
    tau = threshold["threshold"]
    return {"memorised": (d < tau).double().mean().item(), "threshold": tau,
            "percentile": threshold["percentile"], "n_samples": len(d)}


def memorisation_against(fake, test_images, train_images):
    """(memorisation of fake, what unseen test images score against the same kind of threshold):
    the two entries an evaluation records, one under the samples and one under "real"."""
    threshold = memorisation_threshold(test_images, train_images)
    return (memorisation(fake, train_images, threshold),
            {k: threshold[k] for k in ("held_out_memorised", "threshold", "percentile")})
