"""Train the fully connected GAN on MNIST.

    python part2_gan/train.py --split test --data-dir ../shared/data

Writes to --out: samples_start.png, samples_halfway.png, samples_end.png (5 x 5 grids from
one fixed noise batch), history.json and losses.png (per generator step: D and G losses,
D(x), D(G(z))), checkpoint.pt (after every epoch; --resume continues from it) and
metrics.json (training time, and the classifier-based metrics of evaluate.py).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, UsageError, add_common_args, fraction, hardware_description,
                        non_negative_fraction, positive_float, positive_int, run_main, setup_run, write_json)
from part2_gan.augment import POLICIES, DiffAugment
from part2_gan.checkpoints import build, count_parameters, spec
from part2_gan.classifier import load_classifier, predict
from part2_gan.data import SPLITS, InMemoryBatches, load_mnist_tensor
from part2_gan.metrics import evaluate_generator
from part2_gan.model import Discriminator, Generator
from part2_gan.objectives import NonSaturatingGAN
from part2_gan.samples import ImageSnapshots
from part2_gan.trainer import GANTrainer


def add_gan_args(p, epochs, out, lr=2e-4, batch_size=64, beta1=0.5):
    """The options every MNIST GAN script shares."""
    p.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training images")
    p.add_argument("--batch_size", type=positive_int, default=batch_size)
    p.add_argument("--latent_dim", type=positive_int, default=100, help="size of the noise z ~ N(0, I)")
    p.add_argument("--lr", type=positive_float, default=lr, help="Adam learning rate of both networks")
    p.add_argument("--beta1", type=fraction, default=beta1, help="Adam beta1")
    p.add_argument("--beta2", type=fraction, default=0.999, help="Adam beta2")
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to train on")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--sample_every", type=positive_int, default=None,
                   help="also save a sample grid every this many epochs")
    p.add_argument("--ema", type=fraction, default=None, metavar="DECAY",
                   help="keep a moving average of G's weights with this decay (e.g. 0.999) and use it as the "
                        "generator (default: off, the plain G)")
    p.add_argument("--label_smoothing", type=non_negative_fraction, default=0.0,
                   help="one-sided label smoothing: D's target for real images is 1 - this")
    p.add_argument("--augment", choices=sorted(POLICIES), default=None,
                   help="differentiable augmentation of everything D sees (default: none)")
    p.add_argument("--eval_every", type=positive_int, default=None,
                   help="evaluate every this many epochs (eval_history.json)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no_eval", action="store_true", help="skip the metrics at the end")
    p.add_argument("--eval_samples", type=positive_int, default=10_000, help="generated images the metrics use")
    p.add_argument("--classifier", default=None, help="evaluation classifier (default: the committed one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_args(p, out=out)
    return p


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    return add_gan_args(p, epochs=200, out="runs/gan_mlp")


def adam(module, args, device):
    """Adam with the run's settings; the fused kernel where torch has one (CPU, CUDA)."""
    return torch.optim.Adam(module.parameters(), lr=args.lr, betas=(args.beta1, args.beta2),
                            fused=device.type in ("cpu", "cuda"))


def run_training(args, generator_spec, discriminator_spec, objective=None, desc="GAN", init=None):
    """Train the networks the specs name on MNIST as ``args`` says; returns the metrics dict."""
    device = setup_run(args)
    images, _ = load_mnist_tensor(args.split, args.data_dir)
    data = InMemoryBatches(images, args.batch_size, device=device)
    G, D = build(generator_spec).to(device), build(discriminator_spec).to(device)
    if init is not None:
        G.apply(init)
        D.apply(init)
    opt_G = adam(G, args, device)
    opt_D = adam(D, args, device)
    config = {k: v for k, v in vars(args).items() if k not in ("resume", "quiet", "out", "device", "data_dir")}
    meta = {"generator_spec": generator_spec, "discriminator_spec": discriminator_spec, "config": config,
            "split": args.split, "hardware": hardware_description(device)}
    classifier = real_predictions = None
    if not args.no_eval or args.eval_every:
        classifier, record = load_classifier(args.classifier, device)
        real_predictions = predict(classifier, images)

    def evaluator(trainer):
        nets = {"G": trainer.G} | ({"G_ema": trainer.G_ema} if trainer.G_ema is not None else {})
        return {name: {k: v for k, v in evaluate_generator(net, images, classifier, n_samples=args.eval_samples,
                                                           device=device, real_predictions=real_predictions).items()
                       if k in ("inception_score", "fid", "classes_covered", "kl_uniform")}
                for name, net in nets.items()}

    objective = objective or NonSaturatingGAN(real_label=1.0 - args.label_smoothing,
                                              augment=DiffAugment(args.augment) if args.augment else None)
    trainer = GANTrainer(G, D, objective, opt_G, opt_D, data, args.epochs, args.out,
                         args.latent_dim, snapshot=ImageSnapshots(args.out), sample_every=args.sample_every,
                         meta=meta, device=device, quiet=args.quiet, desc=desc, ema_decay=args.ema,
                         evaluator=evaluator if args.eval_every else None, eval_every=args.eval_every)
    if args.resume:
        if not os.path.exists(trainer.checkpoint_path):
            raise UsageError(f"--resume: no checkpoint at {trainer.checkpoint_path}")
        trainer.resume()
    summary = trainer.fit()
    metrics = {**summary, "split": args.split, "train_images": len(images), "hardware": meta["hardware"],
               "generator_parameters": count_parameters(G), "discriminator_parameters": count_parameters(D),
               "config": config}
    if not args.no_eval:
        metrics.update(evaluate_generator(trainer.generator, images, classifier, n_samples=args.eval_samples,
                                          device=device, real_predictions=real_predictions))
        metrics["classifier"] = {k: record[k] for k in ("split", "held_out_accuracy", "how")}
    if trainer.evaluations:
        metrics["evaluations"] = trainer.evaluations
    write_json(os.path.join(args.out, "metrics.json"), metrics)
    print(f"{desc}: {summary['epochs']} epochs in {summary['seconds']:.0f} s "
          f"({summary['seconds_per_epoch']:.1f} s/epoch)"
          + ("" if args.no_eval else f"; IS {metrics['inception_score']:.2f}, FID {metrics['fid']:.2f}, "
             f"{metrics['classes_covered']} classes, KL to uniform {metrics['kl_uniform']:.3f}"))
    print(f"wrote samples_start/halfway/end.png, losses.png, history.json, checkpoint.pt, metrics.json in {args.out}")
    return metrics


def main(argv=None):
    args = build_parser().parse_args(argv)
    return run_training(args, spec(Generator, latent_dim=args.latent_dim), spec(Discriminator), desc="MLP GAN")


if __name__ == "__main__":
    run_main(main)
