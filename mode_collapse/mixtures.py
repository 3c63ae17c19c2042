"""The 2D benchmarks of the mode-collapse literature, and the batches the training loop draws.

- ring: 8 Gaussians with means evenly spaced on a circle of radius 2, std 0.02
  (Metz et al., 2016; Srivastava et al., 2017; Lin et al., 2018).
- grid: 25 Gaussians with means at {-4, -2, 0, 2, 4}^2, std 0.05.
PacGAN's code (Lin et al., 2018) draws its ring at radius 1 with std 0.01 -- the same ring, half
the size: ``mixture("ring", radius=1.0, std=0.01)``.

Every component has the same weight and an isotropic covariance std^2 I.
"""
import math

import torch


class GaussianMixture2D:
    """An equal-weight mixture of isotropic Gaussians in the plane.

    Inputs: means (K, 2), std (a float). ``sample(n)`` draws (n, 2) points with torch's global
    generator (or ``generator``): a component uniformly at random, then mean + std * N(0, I).
    """

    def __init__(self, name, means, std):
        self.name = name
        self.means = torch.as_tensor(means, dtype=torch.float32)
        self.std = float(std)

    @property
    def n_modes(self):
        return len(self.means)

    def sample(self, n, generator=None):
        which = torch.randint(self.n_modes, (n,), generator=generator)
        return self.means[which] + self.std * torch.randn(n, 2, generator=generator)

    def __repr__(self):
        return f"GaussianMixture2D({self.name!r}, {self.n_modes} modes, std {self.std})"


def ring(n_modes=8, radius=2.0, std=0.02):
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    return GaussianMixture2D("ring", torch.stack([radius * angles.cos(), radius * angles.sin()], 1), std)


def grid(values=(-4.0, -2.0, 0.0, 2.0, 4.0), std=0.05):
    v = torch.tensor(values)
    return GaussianMixture2D("grid", torch.cartesian_prod(v, v), std)


MIXTURES = {"ring": ring, "grid": grid}


def mixture(name, **kwargs):
    """The mixture ``name`` (ring or grid), with keyword arguments of its function (radius, std, ...)."""
    if name not in MIXTURES:
        raise ValueError(f"unknown dataset {name!r}: use {' or '.join(MIXTURES)}")
    return MIXTURES[name](**kwargs)


class MixtureBatches:
    """The trainer's real batches from a mixture: ``batches(k)`` is a fresh batch for every step k
    (a 2D mixture is an infinite data set: no epochs), ``sample(n)`` n more points (the Unrolled
    GAN's look-ahead). Drawn with torch's global generator, so a seeded run, or one resumed with
    its saved random state, sees the same batches."""

    def __init__(self, mixture_, batch_size, device="cpu"):
        self.mixture, self.batch_size, self.device = mixture_, batch_size, torch.device(device)

    def __call__(self, k):
        return self.sample(self.batch_size)

    def sample(self, n):
        return self.mixture.sample(n).to(self.device)
