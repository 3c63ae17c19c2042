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
``extra`` adds that many 3 x 3 stride-1 layers (with BatchNorm and the network's activation) at
each inner resolution -- 7 x 7 and 14 x 14 -- as the common 28 x 28 DCGANs do: more depth
without leaving the paper's rules (still no pooling and no fully connected layer).
"""
from torch import nn

from gan.objectives import pack

IMAGE_SHAPE = (1, 28, 28)


def _block(conv, channels, activation):
    return [conv, nn.BatchNorm2d(channels), activation]


def _same_size(c, activation, transposed, extra):
    """``extra`` 3 x 3 stride-1 layers keeping c channels and the map size, each with BatchNorm."""
    kind = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [m for _ in range(extra) for m in _block(kind(c, c, 3, 1, 1, bias=False), c, activation())]


class Generator(nn.Module):
    """Inputs: z (batch, latent_dim). Outputs: images (batch, channels, 28, 28) in [-1, 1].

    ngf: width of the generator; its feature maps have 2 ngf channels at 7 x 7 and ngf at 14 x 14.
    extra: stride-1 layers added at 7 x 7 and at 14 x 14 (0: the committed model's layers).
    channels: 1 for MNIST, 3 for Stacked MNIST (a digit per channel).
    """

    def __init__(self, latent_dim=100, ngf=64, extra=0, channels=1):
        super().__init__()
        self.latent_dim, self.ngf, self.extra = latent_dim, ngf, extra
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.net = nn.Sequential(
            # (batch, latent_dim, 1, 1) -> (batch, 2 ngf, 7, 7): the projection of z
            *_block(nn.ConvTranspose2d(latent_dim, 2 * ngf, kernel_size=7, stride=1, padding=0, bias=False),
                    2 * ngf, relu()),
            *_same_size(2 * ngf, relu, True, extra),
            # -> (batch, ngf, 14, 14): (7 - 1) * 2 - 2 * 1 + 4 = 14
            *_block(nn.ConvTranspose2d(2 * ngf, ngf, kernel_size=4, stride=2, padding=1, bias=False), ngf, relu()),
            *_same_size(ngf, relu, True, extra),
            # -> (batch, channels, 28, 28); no BatchNorm at the output
            nn.ConvTranspose2d(ngf, channels, kernel_size=4, stride=2, padding=1, bias=True),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class Discriminator(nn.Module):
    """Inputs: images (batch, channels, 28, 28) in [-1, 1]. Outputs: logits (batch / pack, outputs);
    sigmoid(logit) = P(real).

    ndf: width of the discriminator; ndf channels at 14 x 14, 2 ndf at 7 x 7.
    extra: stride-1 layers added at 14 x 14 and at 7 x 7 (0: the committed model's layers).
    channels: of the images (1, or 3 for Stacked MNIST). pack = m > 1: PacGAN's discriminator
    (Lin et al., 2018), m images stacked along the channels, one logit per m images.
    outputs: logits per image (1; k + 1 for MAD-GAN's discriminator, Ghosh et al., 2018).
    batch_norm: False drops the BatchNorm at 7 x 7 (a WGAN-GP critic: the gradient penalty is per
    sample, which BatchNorm's batch statistics break, Gulrajani et al., 2017, section 4).
    No sigmoid at the end: the losses use BCE-with-logits (gan/objectives.py).
    """

    def __init__(self, ndf=64, extra=0, channels=1, pack=1, outputs=1, batch_norm=True):
        super().__init__()
        if extra and not batch_norm:
            raise ValueError("the extra layers carry BatchNorm: a discriminator without it takes extra = 0")
        self.ndf, self.extra, self.pack, self.outputs = ndf, extra, pack, outputs
        leaky = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        # (batch, channels, 28, 28) -> (batch, ndf, 14, 14): (28 + 2 * 1 - 4) / 2 + 1 = 14; no BatchNorm at the input
        self.conv1 = nn.Conv2d(channels * pack, ndf, kernel_size=4, stride=2, padding=1, bias=True)
        self.act1 = leaky()
        if extra:
            self.extra1 = nn.Sequential(*_same_size(ndf, leaky, False, extra))
        # -> (batch, 2 ndf, 7, 7): (14 + 2 * 1 - 4) / 2 + 1 = 7
        self.conv2 = nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=2, padding=1, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(2 * ndf) if batch_norm else nn.Identity()
        self.act2 = leaky()
        if extra:
            self.extra2 = nn.Sequential(*_same_size(2 * ndf, leaky, False, extra))
        # -> (batch, outputs, 1, 1): one 7 x 7 kernel over the whole map, the logit
        self.conv3 = nn.Conv2d(2 * ndf, outputs, kernel_size=7, stride=1, padding=0, bias=True)

    def forward(self, x):
        x = pack(x, self.pack)
        h = self.act1(self.conv1(x))             # (batch, ndf, 14, 14)
        if self.extra:
            h = self.extra1(h)
        h = self.act2(self.bn2(self.conv2(h)))   # (batch, 2 ndf, 7, 7)
        if self.extra:
            h = self.extra2(h)
        return self.conv3(h).view(x.shape[0], self.outputs)  # (batch, outputs)


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
