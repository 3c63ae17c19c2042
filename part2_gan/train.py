"""Train the fully connected GAN on MNIST.

    python part2_gan/train.py --data-dir ../shared/data

Writes to --out (default runs/gan_mlp): samples_start.png, samples_halfway.png, samples_end.png
(5 x 5 grids from one fixed noise batch), history.json and losses.png (per generator step: D
and G losses, D(x), D(G(z))), checkpoint.pt (every epoch; --resume continues from it) and
metrics.json (training time, and the classifier-based metrics of evaluate.py). The defaults are
the assignment's settings (gan/mnist.py's GANConfig).
"""
from common.cli import run_main
from gan.mnist import GANConfig, main_of


def main(argv=None):
    return main_of(GANConfig, argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    run_main(main)
