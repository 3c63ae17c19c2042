"""Mode-collapse metrics of 2D samples, as the Unrolled GAN / VEEGAN / PacGAN papers define them.

For samples x_1..x_n and a mixture with means mu_1..mu_K and std sigma:
- each sample is assigned to its nearest mode, argmin_k ||x_i - mu_k||;
- a sample is *high quality* when ||x_i - mu_nearest|| <= 3 sigma (VEEGAN, PacGAN);
- a mode is *captured* when it receives at least ``capture_fraction`` * n high-quality samples:
  20 of 2,500 by default (PacGAN's rule: a grid mode with fewer than 20 of its expected
  100 samples, one fifth, counts as lost);
- KL: KL(h || uniform) = sum_k h_k log(K h_k) of the histogram h of the high-quality samples
  over the modes (0 when every mode is equally frequent, log K when one mode has them all);
  undefined (None) when there are no high-quality samples.
"""
import math

import torch

from gan.metrics import kl_to_uniform

# Published numbers on the papers' setting (train_2d.SETTINGS["paper"]), the two rows issue 12 quotes
# (PacGAN, Lin et al. 2018, Table 1; its Unrolled GAN row is VEEGAN's, Srivastava et al. 2017,
# Table 1). The table's other rows (ALI, PacGAN2-4) are not quoted here: the paper's table is an
# image we could not read in this environment, and no number is typed in unchecked.
PUBLISHED_2D = {
    "source": "Lin et al. (2018), PacGAN, Table 1 (2D-ring and 2D-grid, 2,500 samples, high quality within 3 "
              "standard deviations); the Unrolled GAN row is VEEGAN's (Srivastava et al. 2017, Table 1)",
    "rows": [{"method": "GAN (PacGAN's tuned baseline)", "dataset": "grid", "modes": 17.3, "high_quality": 0.948},
             {"method": "Unrolled GAN", "dataset": "grid", "modes": 23.6}],
}


N_STD = 3.0
N_SAMPLES = 2500
CAPTURE_FRACTION = 20 / 2500


def capture_threshold(n, capture_fraction=CAPTURE_FRACTION):
    """High-quality samples a mode needs among n to count as captured (20 for n = 2,500)."""
    return max(1, math.ceil(capture_fraction * n - 1e-9))


def mode_metrics(samples, mixture_, n_std=N_STD, capture_fraction=CAPTURE_FRACTION):
    """Inputs: samples (n, 2), a GaussianMixture2D. Outputs: a dict with

    modes (int, modes captured), high_quality (fraction of the n samples within n_std std of
    their nearest mode), kl (float or None), mode_histogram (K high-quality counts),
    threshold (the capture threshold in samples), n_samples.
    """
    x = torch.as_tensor(samples, dtype=torch.float64)
    means = mixture_.means.to(torch.float64)
    distance, nearest = torch.cdist(x, means).min(dim=1)
    good = distance <= n_std * mixture_.std
    counts = torch.bincount(nearest[good], minlength=len(means))
    threshold = capture_threshold(len(x), capture_fraction)
    n_good = int(good.sum())
    return {"modes": int((counts >= threshold).sum()),
            "high_quality": n_good / max(len(x), 1),
            "kl": kl_to_uniform(counts) if n_good else None,
            "mode_histogram": counts.tolist(), "threshold": threshold, "n_samples": len(x)}


def generator_modes(samples, labels, k, mixture_, n_std=N_STD):
    """Where each of MAD-GAN's k generators puts its samples.

    Inputs: samples (n, 2); labels (n,), the generator of each sample (models.generator_labels).
    Outputs: {"per_generator": [{"mode": the mode holding most of generator j's high-quality
    samples (None if it has none), "share": the fraction of generator j's samples at that mode,
    "high_quality": the fraction of its samples that are high quality}, ...],
    "distinct_modes": how many different modes the generators' main modes are}.
    """
    x = torch.as_tensor(samples, dtype=torch.float64)
    distance, nearest = torch.cdist(x, mixture_.means.to(torch.float64)).min(dim=1)
    good = distance <= n_std * mixture_.std
    rows = []
    for j in range(k):
        mine = labels == j
        counts = torch.bincount(nearest[mine & good], minlength=len(mixture_.means))
        n_j = max(int(mine.sum()), 1)
        top = int(counts.argmax()) if counts.sum() > 0 else None
        rows.append({"mode": top, "share": (int(counts[top]) / n_j) if top is not None else 0.0,
                     "high_quality": int((mine & good).sum()) / n_j})
    return {"per_generator": rows, "distinct_modes": len({r["mode"] for r in rows if r["mode"] is not None})}
