"""The fully connected GAN of the assignment (Goodfellow et al., 2014, with the layer sizes
of the course's template).

Generator:     z (latent_dim) -> 128, LeakyReLU(0.2) -> 256, BN, LeakyReLU -> 512, BN, LeakyReLU
               -> 1024, BN, LeakyReLU -> 784, tanh -> image (1, 28, 28) in [-1, 1]
Discriminator: image -> 784 -> 512, LeakyReLU(0.2) -> 256, LeakyReLU(0.2) -> 1 logit

The discriminator returns a logit (no sigmoid): the losses use BCE-with-logits, which is
numerically stable where log(sigmoid) is not.
"""
from torch import nn

IMAGE_SHAPE = (1, 28, 28)


class Generator(nn.Module):
    """Inputs: z (batch, latent_dim). Outputs: images (batch, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100):
        super().__init__()
        self.latent_dim = latent_dim

        def block(n_in, n_out, batch_norm=True):
            # BatchNorm1d(n) with default eps and momentum; BatchNorm1d(n, 0.8) would set eps=0.8.
            layers = [nn.Linear(n_in, n_out)]
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2))
            return layers

        self.net = nn.Sequential(
            *block(latent_dim, 128, batch_norm=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, 784),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z).view(z.shape[0], *IMAGE_SHAPE)


class Discriminator(nn.Module):
    """Inputs: images (batch, 1, 28, 28). Outputs: logits (batch, 1); sigmoid(logit) = P(real)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, x):
        return self.net(x)
