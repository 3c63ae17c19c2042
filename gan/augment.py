"""Differentiable augmentation for data-limited GANs (Zhao et al., 2020, "Differentiable
Augmentation for Data-Efficient GAN Training").

With 10,000 training images the discriminator can memorise them: its loss keeps falling and
the generator's signal degrades. Applying the same kind of random transformation to every
image D sees -- real and generated, in D's step and in G's -- keeps D from memorising, while
G is not taught to produce augmented images (the augmentation is not part of the data).
The transformations are differentiable in the image, so G's gradient flows through them.
"""
import torch
from torch.nn import functional as F

BACKGROUND = -1.0  # MNIST in [-1, 1]


def translate(x, max_shift=2):
    """Shift each image by a random whole number of pixels in [-max_shift, max_shift] per axis,
    filling with background. x: (N, C, H, W) -> (N, C, H, W)."""
    n, c, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), device=x.device)
    padded = F.pad(x, (max_shift,) * 4, value=BACKGROUND)
    rows = (torch.arange(h, device=x.device) + max_shift)[None] - shifts[:, :1]   # (N, H)
    cols = (torch.arange(w, device=x.device) + max_shift)[None] - shifts[:, 1:]   # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def cutout(x, size=8):
    """Set a random size x size square of each image to background (it may reach past the border)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() <= size // 2) & ((xs - cx).abs() <= size // 2)  # (N, H, W)
    return torch.where(inside[:, None], torch.full_like(x, BACKGROUND), x)


POLICIES = {"translation": (translate,), "cutout": (cutout,), "translation,cutout": (translate, cutout)}


class DiffAugment:
    """Callable applying the transformations of a policy name ('translation', 'cutout' or both)."""

    def __init__(self, policy):
        if policy not in POLICIES:
            raise ValueError(f"unknown augmentation {policy!r}: choose from {', '.join(POLICIES)}")
        self.policy, self.ops = policy, POLICIES[policy]

    def __call__(self, x):
        for op in self.ops:
            x = op(x)
        return x
