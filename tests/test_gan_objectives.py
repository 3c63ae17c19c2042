"""Part 2: the objective's remedies for a small training set: one-sided label smoothing and
differentiable augmentation (gan/objectives.py, gan/augment.py)."""
import pytest
import torch

from gan.augment import DiffAugment, cutout, translate
from gan.objectives import NonSaturatingGAN


def test_one_sided_label_smoothing_loss():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return x.new_full((x.shape[0], 1), 2.0)
    real, fake = torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28)
    loss, _ = NonSaturatingGAN(real_label=0.9).discriminator_loss(Constant(), real, fake)
    s = torch.sigmoid(torch.tensor(2.0))
    expected = -(0.9 * torch.log(s) + 0.1 * torch.log(1 - s)) - torch.log(1 - s)
    assert torch.allclose(loss, expected)


def test_translation_shifts_whole_pixels_and_is_differentiable():
    x = -torch.ones(64, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0  # an 8 x 4 bright block
    x.requires_grad_(True)
    out = translate(x, max_shift=2)
    assert out.shape == x.shape
    for img in out.detach():
        rows, cols = torch.where(img[0] > 0)
        assert len(rows) == 32, "nothing lost: the block stays inside"
        assert -2 <= rows.min().item() - 10 <= 2 and -2 <= cols.min().item() - 12 <= 2
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 3, "shifted, not deformed"
    out.sum().backward()
    # d(sum of output)/d(input pixel) is 1 where the pixel stays in view and 0 where shifted out
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}
    kept = x.grad.sum(dim=(1, 2, 3))
    assert (kept >= 26 * 26).all() and (kept <= 28 * 28).all()
    assert (x.grad[:, :, 10:18, 12:16] == 1).all(), "the block is always in view"


def test_cutout_blanks_a_square_and_policies():
    x = torch.ones(16, 1, 28, 28)
    out = cutout(x, size=8)
    blanked = (out == -1).sum(dim=(1, 2, 3))
    assert (blanked > 0).all() and (blanked <= 81).all()
    assert DiffAugment("translation,cutout")(x).shape == x.shape
    with pytest.raises(ValueError, match="unknown augmentation"):
        DiffAugment("rotate")


def test_augmentation_reaches_both_steps():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.new_zeros(x.shape[0], 1)
    flip = lambda x: -x  # noqa: E731
    obj = NonSaturatingGAN(augment=flip)
    real, fake = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    obj.discriminator_loss(Recorder(), real, fake)
    obj.generator_loss(Recorder(), fake)
    assert torch.equal(seen[0], -real) and torch.equal(seen[1], -fake) and torch.equal(seen[2], -fake)
