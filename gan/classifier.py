"""A small CNN trained on MNIST: the measuring stick of the GAN metrics.

Inception-v3 weights cannot be downloaded here, so the Inception Score and the FID use this
network instead: its softmax for the Inception Score and the class histogram, its
penultimate layer (64 features after global average pooling) for the FID. Trained once
by ``python part2_gan/train_classifier.py``; the weights are committed in gan/weights/ (about 0.4 MB).
"""
import math
import os

import torch
from torch import nn
from torch.nn import functional as F

CLASSIFIER_KIND = "mnist_classifier"
COMMITTED_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "mnist_classifier.pt")


def conv_block(n_in, n_out):
    return [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(inplace=True)]


class MNISTClassifier(nn.Module):
    """Inputs: images (batch, 1, 28, 28) in [-1, 1]. Outputs: logits (batch, 10).

    conv 32 -> conv 32 -> pool (14x14) -> conv 64 -> conv 64 -> pool (7x7) -> conv 64
    -> global average pool (64 features) -> dropout -> linear 10.
    """
    feature_dim = 64

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            *conv_block(1, 32), *conv_block(32, 32), nn.MaxPool2d(2),
            *conv_block(32, 64), *conv_block(64, 64), nn.MaxPool2d(2),
            *conv_block(64, self.feature_dim), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(self.feature_dim, 10)

    def features(self, x):
        """Penultimate-layer features (batch, 64): what the FID compares."""
        return self.body(x)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))


def random_affine(images, max_degrees=12.0, max_shift=2.0, scale=(0.9, 1.1)):
    """Augment a batch: a random rotation, scale and shift per image, applied with grid_sample."""
    n = images.shape[0]
    angle = (torch.rand(n, device=images.device) * 2 - 1) * math.radians(max_degrees)
    s = torch.empty(n, device=images.device).uniform_(*scale)
    shift = (torch.rand(n, 2, device=images.device) * 2 - 1) * (2 * max_shift / images.shape[-1])
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, images.shape, align_corners=False)
    # Background is -1 in [-1, 1] images: shift to [0, 2] so that zero padding is background.
    return F.grid_sample(images + 1, grid, align_corners=False, padding_mode="zeros") - 1


@torch.no_grad()
def predict(model, images, batch_size=1000):
    """(probabilities (N, 10), features (N, 64)) of images in [-1, 1], in eval mode."""
    model.eval()
    probs, feats = [], []
    device = next(model.parameters(), images).device
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        f = model.features(x)
        probs.append(F.softmax(model.head(f), dim=1).cpu())
        feats.append(f.cpu())
    return torch.cat(probs), torch.cat(feats)


def load_classifier(path=None, device="cpu"):
    """The committed evaluation classifier (or the one at ``path``), in eval mode, and its record."""
    from common.checkpoint import load_checkpoint, load_weights
    path = path or COMMITTED_WEIGHTS
    state = load_checkpoint(path, CLASSIFIER_KIND, map_location=device)
    model = MNISTClassifier()
    load_weights(model, state["model"], path)
    return model.to(device).eval(), {k: v for k, v in state.items() if k not in ("model", "kind")}
