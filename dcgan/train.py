"""Train the DCGAN (model.py) on MNIST with the shared GAN library (gan/).

    python dcgan/train.py --data-dir ../shared/data --threads 1

The same options and outputs as part2_gan/train.py, plus the widths --ngf and --ndf. The
defaults reproduce the committed model (report/results/dcgan.json): the paper's Adam
(beta1 0.5, batch 64) with the learning rate, widths and epochs that tune.py chose, and a moving
average of G's weights (--ema 0.999). The paper's learning rate is 2e-4; twice that learned faster
in every comparison of the tuning (README.md).
"""
from common.cli import run_main
from dcgan.config import DCGANConfig
from gan.mnist import main_of


def main(argv=None):
    return main_of(DCGANConfig, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    run_main(main)
