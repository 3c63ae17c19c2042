"""GAN objectives: what the discriminator and the generator minimise.

An objective is plugged into the one training loop (trainer.py). It defines
  discriminator_loss(D, real, fake) -> (loss, stats)   fake is detached from G
  generator_loss(D, fake) -> (loss, stats)             fake carries G's graph
  after_discriminator_step(D)                          e.g. WGAN's weight clipping
  n_critic                                             discriminator steps per generator step
stats are floats to log: 'd_real' and 'd_fake' are the discriminator's mean output on real
and generated samples (a probability for the standard GAN, a critic value for WGANs).
"""
import torch
from torch.nn import functional as F


class Objective:
    n_critic = 1
    name = "objective"

    def discriminator_loss(self, D, real, fake):
        raise NotImplementedError

    def generator_loss(self, D, fake):
        raise NotImplementedError

    def after_discriminator_step(self, D):
        pass


class NonSaturatingGAN(Objective):
    """min_G max_D E[log D(x)] + E[log(1 - D(G(z)))], with the non-saturating generator loss.

    D minimises -E[log D(x)] - E[log(1 - D(G(z)))] (binary cross-entropy, real = 1, fake = 0).
    G minimises -E[log D(G(z))] instead of E[log(1 - D(G(z)))]: both push D(G(z)) up, but the
    latter's gradient vanishes when D rejects the fakes confidently, which is exactly the
    situation early in training (Goodfellow et al., 2014, section 3).

    real_label < 1 is one-sided label smoothing (Salimans et al., 2016): D's target for real
    images becomes e.g. 0.9, which keeps D from growing over-confident on a small training set.
    augment, if given, transforms every batch D sees, real and generated, in both steps
    (differentiable augmentation, augment.py).
    """
    name = "gan"

    def __init__(self, real_label=1.0, augment=None):
        self.real_label = real_label
        self.augment = augment or (lambda x: x)

    def discriminator_loss(self, D, real, fake):
        real_logits, fake_logits = D(self.augment(real)), D(self.augment(fake))
        loss = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        return loss, {"d_real": torch.sigmoid(real_logits).mean().item(),
                      "d_fake": torch.sigmoid(fake_logits).mean().item()}

    def generator_loss(self, D, fake):
        logits = D(self.augment(fake))
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        return loss, {}
