"""Stacked MNIST, the image benchmark of mode collapse with 1,000 modes (Metz et al., 2016;
Srivastava et al., 2017; Lin et al., 2018).

A sample is three MNIST digits stacked as the three channels of a 28 x 28 image; its mode is the
triple of digits, 1,000 in all, each equally likely in the data. A generated sample's mode is the
triple the evaluation classifier reads from its three channels; the measures are how many of the
1,000 modes at least one of the samples falls in (26,000 samples in the published protocol), and
the KL divergence of the samples' mode histogram to the uniform one.
"""
import torch

from gan.classifier import predict
from gan.metrics import kl_to_uniform

N_MODES = 1000
N_SAMPLES = 26_000


def stack_mnist(images, labels, n, seed=0):
    """n stacks of three random digits: images (N, 1, 28, 28), labels (N,) -> stacks (n, 3, 28, 28)
    and their modes (n,) = 100 d_1 + 10 d_2 + d_3, the digits drawn independently (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(images), (n, 3), generator=gen)
    stacks = images[idx].squeeze(2)  # (n, 3, 1, 28, 28) -> (n, 3, 28, 28)
    digits = labels[idx]
    return stacks, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


@torch.no_grad()
def modes_of(stacks, classifier, batch_size=1000):
    """The mode of each stack (n, 3, 28, 28): the classifier's digit of every channel, as 100 d_1 + 10 d_2 + d_3."""
    digits = [predict(classifier, stacks[:, c:c + 1], batch_size)[0].argmax(1) for c in range(3)]
    return digits[0] * 100 + digits[1] * 10 + digits[2]


def mode_coverage(modes):
    """{modes: how many of the 1,000 modes hold at least one sample, kl: KL(histogram || uniform),
    histogram: the 1,000 counts, n_samples} of modes (n,) in [0, 1000)."""
    counts = torch.bincount(torch.as_tensor(modes), minlength=N_MODES)
    return {"modes": int((counts > 0).sum()), "kl": kl_to_uniform(counts), "histogram": counts.tolist(),
            "n_samples": int(counts.sum())}
