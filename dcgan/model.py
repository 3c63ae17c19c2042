"""A DCGAN for native 28 x 28 MNIST (Radford, Metz and Chintala, 2015, "Unsupervised
Representation Learning with Deep Convolutional Generative Adversarial Networks").

The paper's architecture guidelines (section 3), as followed here:
  - no pooling: the discriminator downsamples with strided convolutions, the generator
    upsamples with fractionally-strided (transposed) convolutions;
  - no fully connected hidden layers: the generator's first layer maps z to a 7 x 7 map
    (a transposed convolution of a 1 x 1 input, i.e. a matrix product reshaped into a
    4-d tensor, as in the paper), and the discriminator's last layer is a convolution whose
    kernel covers its whole 7 x 7 input and gives one logit;
  - BatchNorm in both networks, except at the generator's output and the discriminator's input;
  - ReLU in the generator with tanh at its output; LeakyReLU(0.2) in the discriminator;
  - weights from N(0, 0.02), BatchNorm scales from N(1, 0.02), biases 0 (``weights_init``);
  - Adam with lr 2e-4 and beta1 0.5 (the defaults of dcgan/train.py).

The paper's LSUN networks go 4 -> 8 -> 16 -> 32 -> 64; MNIST is 28 x 28, so here the maps go
1 -> 7 -> 14 -> 28 in the generator and back in the discriminator, without resizing the data.
A convolution followed by BatchNorm has no bias: BatchNorm's shift would cancel it.

Generator:     z (100, 1, 1) -> (2 ngf, 7, 7) -> (ngf, 14, 14) -> (1, 28, 28)
Discriminator: image (1, 28, 28) -> (ndf, 14, 14) -> (2 ndf, 7, 7) -> 1 logit
The committed model uses ngf = 64, ndf = 32 (train.py's defaults, chosen by tune.py).
"""
from torch import nn

IMAGE_SHAPE = (1, 28, 28)


class Generator(nn.Module):
    """Inputs: z (batch, latent_dim). Outputs: images (batch, 1, 28, 28) in [-1, 1].

    ngf: width of the generator; its feature maps have 2 ngf channels at 7 x 7 and ngf at 14 x 14.
    """

    def __init__(self, latent_dim=100, ngf=64):
        super().__init__()
        self.latent_dim, self.ngf = latent_dim, ngf
        self.net = nn.Sequential(
            # (batch, latent_dim, 1, 1) -> (batch, 2 ngf, 7, 7): the projection of z
            nn.ConvTranspose2d(latent_dim, 2 * ngf, kernel_size=7, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(inplace=True),
            # -> (batch, ngf, 14, 14): (7 - 1) * 2 - 2 * 1 + 4 = 14
            nn.ConvTranspose2d(2 * ngf, ngf, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(inplace=True),
            # -> (batch, 1, 28, 28); no BatchNorm at the output
            nn.ConvTranspose2d(ngf, 1, kernel_size=4, stride=2, padding=1, bias=True),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class Discriminator(nn.Module):
    """Inputs: images (batch, 1, 28, 28) in [-1, 1]. Outputs: logits (batch, 1); sigmoid(logit) = P(real).

    ndf: width of the discriminator; ndf channels at 14 x 14, 2 ndf at 7 x 7.
    No sigmoid at the end: the losses use BCE-with-logits (objectives.py).
    """

    def __init__(self, ndf=64):
        super().__init__()
        self.ndf = ndf
        # (batch, 1, 28, 28) -> (batch, ndf, 14, 14): (28 + 2 * 1 - 4) / 2 + 1 = 14; no BatchNorm at the input
        self.conv1 = nn.Conv2d(1, ndf, kernel_size=4, stride=2, padding=1, bias=True)
        self.act1 = nn.LeakyReLU(0.2, inplace=True)
        # -> (batch, 2 ndf, 7, 7): (14 + 2 * 1 - 4) / 2 + 1 = 7
        self.conv2 = nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * ndf)
        self.act2 = nn.LeakyReLU(0.2, inplace=True)
        # -> (batch, 1, 1, 1): one 7 x 7 kernel over the whole map, the logit
        self.conv3 = nn.Conv2d(2 * ndf, 1, kernel_size=7, stride=1, padding=0, bias=True)

    def forward(self, x):
        h = self.act1(self.conv1(x))             # (batch, ndf, 14, 14)
        h = self.act2(self.bn2(self.conv2(h)))   # (batch, 2 ndf, 7, 7)
        return self.conv3(h).view(x.shape[0], 1)  # (batch, 1)


def weights_init(module):
    """DCGAN initialisation, for ``model.apply``: conv weights ~ N(0, 0.02),
    BatchNorm scales ~ N(1, 0.02), all biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
