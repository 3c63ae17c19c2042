"""The DCGAN's run configuration: gan/mnist.py's GANConfig with the DCGAN's networks, widths and
the tuned defaults (the committed model, report/results/dcgan.json)."""
from dataclasses import dataclass

from common.cli import non_negative_int, positive_int
from common.config import new_default, option
from dcgan.model import weights_init
from gan.checkpoints import spec
from gan.mnist import GANConfig


@dataclass
class DCGANConfig(GANConfig):
    """GANConfig with the DCGAN's networks, widths and tuned defaults."""
    epochs: int = new_default(GANConfig, "epochs", 30)
    lr: float = new_default(GANConfig, "lr", 4e-4)
    ema: float = new_default(GANConfig, "ema", 0.999)
    lr_decay: bool = new_default(GANConfig, "lr_decay", True)
    out: str = new_default(GANConfig, "out", "runs/dcgan")
    ngf: int = option(64, "generator width (channels at 14 x 14; 2 ngf at 7 x 7)", type=positive_int)
    ndf: int = option(64, "discriminator width (channels at 14 x 14; 2 ndf at 7 x 7)", type=positive_int)
    g_extra: int = option(1, "extra 3 x 3 stride-1 layers of the generator at 7 x 7 and at 14 x 14",
                          type=non_negative_int)
    d_extra: int = option(0, "extra 3 x 3 stride-1 layers of the discriminator at 14 x 14 and at 7 x 7",
                          type=non_negative_int)

    desc = "DCGAN"

    def networks(self):
        return (spec("dcgan.Generator", latent_dim=self.latent_dim, ngf=self.ngf, extra=self.g_extra),
                spec("dcgan.Discriminator", ndf=self.ndf, extra=self.d_extra))

    def init_weights(self, G, D):
        G.apply(weights_init)
        D.apply(weights_init)
