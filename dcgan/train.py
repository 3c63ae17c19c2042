"""Train the DCGAN (model.py) on MNIST with Part 2's training loop.

    python dcgan/train.py --split test --data-dir ../shared/data --threads 1

The same options and outputs as part2_gan/train.py, plus the widths --ngf and --ndf. Writes
to --out: samples_start.png, samples_halfway.png, samples_end.png (5 x 5 grids from one fixed
noise batch), history.json and losses.png, checkpoint.pt (after every epoch, atomically;
--resume continues from it) and metrics.json (training time, classifier-based metrics).
The defaults reproduce the committed model (report/results/dcgan.json): the paper's Adam
(beta1 0.5, batch 64) with the learning rate, widths and epochs that tune.py chose, and a moving
average of G's weights (--ema 0.999). The paper's learning rate is 2e-4; twice that learned faster
in every comparison of the tuning (README.md).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import ArgumentParser, positive_int, run_main
from dcgan.model import Discriminator, Generator, weights_init
from part2_gan.checkpoints import spec
from part2_gan.train import add_gan_args, run_training

EPOCHS = 120
LR = 4e-4
EMA = 0.999
NGF = 64
NDF = 32


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ngf", type=positive_int, default=NGF, help="generator width (channels at 14 x 14; 2 ngf at 7 x 7)")
    p.add_argument("--ndf", type=positive_int, default=NDF, help="discriminator width (channels at 14 x 14; 2 ndf at 7 x 7)")
    add_gan_args(p, epochs=EPOCHS, out="runs/dcgan", lr=LR)
    p.set_defaults(ema=EMA)  # the committed model is scored with the moving average of G
    return p


def specs(args):
    """The specs that rebuild this run's generator and discriminator (stored in its checkpoint)."""
    return (spec(Generator, latent_dim=args.latent_dim, ngf=args.ngf), spec(Discriminator, ndf=args.ndf))


def main(argv=None):
    args = build_parser().parse_args(argv)
    return run_training(args, *specs(args), desc="DCGAN", init=weights_init)


if __name__ == "__main__":
    run_main(main)
