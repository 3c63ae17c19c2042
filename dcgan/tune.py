"""Tune the DCGAN: train each configuration of CONFIGS for a short budget and record
settings -> metrics and training time.

    python dcgan/tune.py --data-dir ../shared/data --threads 1             # into runs/dcgan_tune/tuning.json
    python dcgan/tune.py --data-dir ../shared/data --threads 1 --publish   # into report/results/dcgan_tuning.json

Every configuration starts from the paper's settings (Adam, lr 2e-4, beta1 0.5, batch 64) at
widths ngf = ndf = 32 and changes one or two of them: the widths, the learning rate, beta1, the
batch size. A first round trains each for the same short budget (--epochs), a second round the
best of the first for longer; all from the same seed, trained by gan/mnist.py's train() with
dcgan/config.py's DCGANConfig and evaluated with the classifier (gan/tuning.py: each finished
configuration is merged into the table at once, and an interrupted tuning resumes).
"""
from common.cli import run_main
from dcgan.config import DCGANConfig
from gan.tuning import build_parser, run_tuning

PAPER = {"ngf": 32, "ndf": 32, "lr": 2e-4, "beta1": 0.5, "batch_size": 64, "g_extra": 0, "d_extra": 0}

# (name, changes to PAPER); the first is the baseline the others are compared with.
CONFIGS = [
    ("w32", {}),
    ("w16", {"ngf": 16, "ndf": 16}),
    ("w64", {"ngf": 64, "ndf": 64}),
    ("g64_d32", {"ngf": 64, "ndf": 32}),
    ("g32_d64", {"ngf": 32, "ndf": 64}),
    ("w32_lr1e-4", {"lr": 1e-4}),
    ("w32_lr4e-4", {"lr": 4e-4}),
    ("w32_beta1_0.9", {"beta1": 0.9}),
    ("w32_batch32", {"batch_size": 32}),
    ("w32_batch128", {"batch_size": 128}),
    # Second round, a longer budget: the best learning rate of the first round at two generator widths.
    ("w32_lr4e-4_25ep", {"lr": 4e-4, "epochs": 25}),
    ("g64_d32_lr4e-4_25ep", {"ngf": 64, "lr": 4e-4, "epochs": 25}),
    # Third round, 20 epochs at the paper's lr 2e-4 with the remedies of a small data set: a moving
    # average of G (its run also evaluates the plain G), differentiable augmentation, label smoothing,
    # a wider discriminator; one or two changes at a time.
    ("g64_d32_ema_20ep", {"ngf": 64, "ema": 0.999, "epochs": 20}),
    ("g64_d32_ema_trans_20ep", {"ngf": 64, "ema": 0.999, "augment": "translation", "epochs": 20}),
    ("g64_d64_ema_20ep", {"ngf": 64, "ndf": 64, "ema": 0.999, "epochs": 20}),
    ("g64_d32_ema_batch32_20ep", {"ngf": 64, "ema": 0.999, "batch_size": 32, "epochs": 20}),
    # Fourth round: the second round's winner (lr 4e-4) with the moving average of G, trained longer
    # than the 80-epoch final run.
    ("g64_d32_lr4e-4_ema_120ep", {"ngf": 64, "lr": 4e-4, "ema": 0.999, "epochs": 120}),
    # The 60k training split (--split train --seed 1; the published run uses seed 0): 2 epochs each
    # (1,876 steps, about the first rounds' budget on 10k), all with the moving average of G. The
    # committed widths against more capacity within the paper's rules: wider networks, and one extra
    # 3 x 3 stride-1 layer per resolution in G (and in D), at both learning rates.
    ("60k_g64_d32_lr4e-4", {"ngf": 64, "lr": 4e-4, "ema": 0.999, "epochs": 2}),
    ("60k_g128_d64", {"ngf": 128, "ndf": 64, "ema": 0.999, "epochs": 2}),
    ("60k_g64_d64", {"ngf": 64, "ndf": 64, "ema": 0.999, "epochs": 2}),
    ("60k_g64_d64_gx1", {"ngf": 64, "ndf": 64, "g_extra": 1, "ema": 0.999, "epochs": 2}),
    # The 60k split's second round, the same budget and seed: the winner above (the published widths)
    # against a stronger discriminator (one extra 3 x 3 layer per resolution in D too) and the larger rate.
    ("60k_g64_d64_gx1_dx1", {"ngf": 64, "ndf": 64, "g_extra": 1, "d_extra": 1, "ema": 0.999, "epochs": 2}),
    ("60k_g64_d64_gx1_lr4e-4", {"ngf": 64, "ndf": 64, "g_extra": 1, "lr": 4e-4, "ema": 0.999, "epochs": 2}),
]


def main(argv=None):
    args = build_parser("dcgan_tuning", "runs/dcgan_tune", __doc__.splitlines()[0]).parse_args(argv)
    # the baseline is the paper's Adam without the tuned remedies (DCGANConfig's defaults are the tuned ones)
    return run_tuning(args, DCGANConfig(ema=None, lr_decay=False), CONFIGS, PAPER, check_key="ngf")


if __name__ == "__main__":
    run_main(main)
