"""Tune the MLP GAN: train configurations, or record finished runs, into one table of settings -> metrics.

    python part2_gan/tune.py --data-dir ../shared/data --threads 1              # into runs/gan_tune/tuning.json
    python part2_gan/tune.py --data-dir ../shared/data --threads 1 --publish    # into report/results/gan_mlp_tuning.json
    python part2_gan/tune.py --record runs/gan_tune/A --name ema_200ep          # add a run trained by hand

Each configuration changes a few settings of the assignment's (GANConfig's defaults) and trains
from the same seed; see gan/tuning.py for the table and how an interrupted tuning resumes.
"""
from common.cli import run_main
from gan.mnist import GANConfig
from gan.tuning import build_parser, run_tuning

PAPER = {"lr": 2e-4, "beta1": 0.5, "batch_size": 64}
# The assignment's settings, then the remedies of a small training set.
CONFIGS = [
    ("paper_200ep", {"epochs": 200}),
    ("ema_200ep", {"ema": 0.999, "epochs": 200}),
    ("ema_ls_200ep", {"ema": 0.999, "label_smoothing": 0.1, "epochs": 200}),
    ("ema_translation_200ep", {"ema": 0.999, "augment": "translation", "epochs": 200}),
    ("ema_translation_cutout_200ep", {"ema": 0.999, "augment": "translation,cutout", "epochs": 200}),
    # On the 60k training split (--split train): the assignment's settings with the moving average
    # (its run's G rows are the plain run: the average does not feed back into training) were
    # recorded with --record; its quality peaked near epoch 75 and then fell (the class balance
    # drifting), so the next run lets both learning rates decay to 0 over a shorter budget.
    ("60k_ema_decay_50ep", {"ema": 0.999, "lr_decay": True, "epochs": 50}),
]


def main(argv=None):
    args = build_parser("gan_mlp_tuning", "runs/gan_tune", __doc__.splitlines()[0]).parse_args(argv)
    return run_tuning(args, GANConfig(), CONFIGS, PAPER)


if __name__ == "__main__":
    run_main(main)
