"""Stacked MNIST, the image benchmark of mode collapse with 1,000 modes (Metz et al., 2016;
Srivastava et al., 2017; Lin et al., 2018).

A sample is three MNIST digits stacked as the three channels of a 28 x 28 image; its mode is the
triple of digits, 1,000 in all, each equally likely in the data. A generated sample's mode is the
triple the evaluation classifier reads from its three channels; the measures are how many of the
1,000 modes at least one of the samples falls in (26,000 samples in the published protocol), and
the KL divergence of the samples' mode histogram to the uniform one. The classifier assigns a
digit to any image, a half-formed one too, so a third measure says how many samples it read
confidently (each channel's top probability at least CONFIDENT) and how many modes those cover.
"""
import torch

from gan.classifier import predict
from gan.metrics import kl_to_uniform

N_MODES = 1000
N_SAMPLES = 26_000
CONFIDENT = 0.9  # the classifier's top probability on every channel, for a sample read confidently


def stack_mnist(images, labels, n, seed=0):
    """n stacks of three random digits: images (N, 1, 28, 28), labels (N,) -> stacks (n, 3, 28, 28)
    and their modes (n,) = 100 d_1 + 10 d_2 + d_3, the digits drawn independently (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(images), (n, 3), generator=gen)
    stacks = images[idx].squeeze(2)  # (n, 3, 1, 28, 28) -> (n, 3, 28, 28)
    digits = labels[idx]
    return stacks, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


@torch.no_grad()
def read_stacks(stacks, classifier, batch_size=128):
    """(modes, confidence) of stacks (n, 3, 28, 28): the classifier's digit of every channel as
    100 d_1 + 10 d_2 + d_3, and the smallest of the three channels' top probabilities."""
    top = [predict(classifier, stacks[:, c:c + 1], batch_size)[0].max(1) for c in range(3)]
    modes = top[0].indices * 100 + top[1].indices * 10 + top[2].indices
    return modes, torch.stack([t.values for t in top]).min(0).values


def modes_of(stacks, classifier, batch_size=128):
    """The mode of each stack (n, 3, 28, 28), as read_stacks reads it."""
    return read_stacks(stacks, classifier, batch_size)[0]


def mode_coverage(modes, confidence=None):
    """{modes: how many of the 1,000 modes hold at least one sample, kl: KL(histogram || uniform),
    histogram: the 1,000 counts, n_samples} of modes (n,) in [0, 1000); with ``confidence`` (n,)
    also confident (the fraction of samples read with confidence >= CONFIDENT) and
    modes_confident (the modes those samples cover)."""
    counts = torch.bincount(torch.as_tensor(modes), minlength=N_MODES)
    out = {"modes": int((counts > 0).sum()), "kl": kl_to_uniform(counts), "histogram": counts.tolist(),
           "n_samples": int(counts.sum())}
    if confidence is not None:
        sure = torch.as_tensor(confidence) >= CONFIDENT
        out.update(confident=float(sure.float().mean()),
                   modes_confident=int(torch.as_tensor(modes)[sure].unique().numel()))
    return out


class StackedBatches:
    """The trainer's real batches of Stacked MNIST, addressed by step (as gan/data.ImageBatches).

    The training set is ``n_stacks`` stacks of three digits drawn once (data_seed) from ``images``
    (N, 1, 28, 28) and ``labels`` (N,): only the index triples are kept (n_stacks, 3), and a batch
    is assembled from them when asked for. ``batches(k)`` is the k-th batch: epoch e = k //
    per_epoch uses a permutation of its own seeded with (seed, e), so a resumed run continues the
    same order. ``sample(n)`` draws n stacks of the training set with torch's global generator
    (the Unrolled GAN's look-ahead), which a checkpoint saves.
    """

    def __init__(self, images, labels, n_stacks, batch_size, seed=0, data_seed=0, device="cpu"):
        if not 2 <= batch_size <= n_stacks:
            raise ValueError(f"batch size {batch_size} must lie between 2 and the {n_stacks} training stacks")
        self.images = images.to(device)
        gen = torch.Generator().manual_seed(data_seed)
        self.index = torch.randint(len(images), (n_stacks, 3), generator=gen).to(device)
        digits = labels.to(device)[self.index]
        self.modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
        self.batch_size, self.seed = batch_size, seed
        self.per_epoch = n_stacks // batch_size
        self._epoch, self._order = None, None

    def __len__(self):
        return len(self.index)

    def stacks(self, rows):
        """The stacks of the training set's rows ``rows`` (n,): (n, 3, 28, 28)."""
        return self.images[self.index[rows]].squeeze(2)

    def __call__(self, k):
        epoch, position = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
            self._epoch, self._order = epoch, torch.randperm(len(self.index), generator=gen).to(self.index.device)
        return self.stacks(self._order[position * self.batch_size:(position + 1) * self.batch_size])

    def sample(self, n):
        return self.stacks(torch.randint(len(self.index), (n,)).to(self.index.device))


# The published numbers on Stacked MNIST in VEEGAN's setting (26,000 samples, a classifier reads
# the three digits, modes of 1,000 and KL of the mode histogram to uniform; means over runs):
# PacGAN (Lin et al., 2018) tabulates DCGAN, ALI, Unrolled GAN and VEEGAN from VEEGAN (Srivastava et
# al., 2017, Table 2) beside its PacDCGANs. Their DCGAN is larger than ours (four convolution layers
# of 64 to 512 channels in D), trained 50 epochs of 128,000 stacks (PacGAN's code,
# fjxmlzn/PacGAN stacked_MNIST_experiments/VEEGAN_experiment/config.py).
PUBLISHED = {
    "source": "Lin et al. (2018), PacGAN: The power of two samples in generative adversarial networks, the "
              "Stacked MNIST table in VEEGAN's experimental setting (Table 2 in the authors' repository README, "
              "fjxmlzn/PacGAN; cited as Table 3 in issue 12); the DCGAN, Unrolled GAN and VEEGAN rows are "
              "quoted there from Srivastava et al. (2017), VEEGAN",
    "protocol": "26,000 samples; modes captured of 1,000; KL(mode histogram || uniform)",
    "rows": [{"method": "DCGAN", "modes": 99, "kl": 3.40},
             {"method": "Unrolled GAN", "modes": 48.7, "kl": 4.32},
             {"method": "VEEGAN", "modes": 150, "kl": 2.95},
             {"method": "PacDCGAN2", "modes": 1000, "kl": 0.06}],
}
