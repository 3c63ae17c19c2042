"""Train the evaluation classifier (gan/classifier.py) and save its weights.

    python part2_gan/train_classifier.py --data-dir ../shared/data              # into runs/classifier
    python part2_gan/train_classifier.py --data-dir ../shared/data --publish    # replaces gan/weights/mnist_classifier.pt

With the training split (the usual case) it trains on the 60,000 training images and
reports the accuracy on the 10,000 test images. Where only the test split exists (this
repository's machines), it trains on a seeded 8,000 of them and holds out the other 2,000.
Every GAN metric is measured with the committed weights, so --publish replaces them only with a
classifier whose held-out accuracy is at least --min_accuracy.
"""
import os
import time

import torch
from torch.nn import functional as F

from common.checkpoint import save_checkpoint
from common.cli import (ArgumentParser, add_common_args, fraction, hardware_description, positive_float, positive_int,
                        progress, run_main, setup_run, write_json)
from common.runs import prepare_out
from gan.classifier import CLASSIFIER_KIND, COMMITTED_WEIGHTS, MNISTClassifier, predict, random_affine
from gan.data import ImageBatches, add_data_args, load_mnist_tensor

HELD_OUT = 2000


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(p, what="MNIST split to train on")
    p.add_argument("--epochs", type=positive_int, default=40)
    p.add_argument("--batch_size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (cosine decay)")
    p.add_argument("--publish", action="store_true",
                   help="also replace the committed weights (gan/weights/mnist_classifier.pt) if accurate enough")
    p.add_argument("--min_accuracy", type=fraction, default=0.99, help="held-out accuracy --publish requires")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--quiet", action="store_true")
    add_common_args(p, out="runs/classifier")
    return p


def make_splits(split, data_dir, seed):
    """(train images, train labels, held-out images, held-out labels, description)."""
    if split == "train":
        x, y = load_mnist_tensor("train", data_dir)
        xt, yt = load_mnist_tensor("test", data_dir)
        return x, y, xt, yt, f"trained on the {len(x):,} training images, tested on the {len(xt):,} test images"
    x, y = load_mnist_tensor("test", data_dir)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, te = order[:-HELD_OUT], order[-HELD_OUT:]
    return (x[tr], y[tr], x[te], y[te],
            f"trained on {len(tr)} test-split images, tested on the other {HELD_OUT} (seed {seed})")


def fit(model, x, y, args):
    """Adam with a one-cycle schedule on randomly shifted, rotated and scaled images."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    index = ImageBatches(torch.arange(len(x)), args.batch_size, seed=args.seed)  # shuffled batches of indices
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                    total_steps=args.epochs * index.per_epoch)
    model.train()
    bar = progress(args.epochs * index.per_epoch, "classifier", disable=args.quiet)
    for k in range(args.epochs * index.per_epoch):
        idx = index(k).to(x.device)
        loss = F.cross_entropy(model(random_affine(x[idx])), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        bar.update(1)
    bar.close()
    return model


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.out = prepare_out(args.out, overwrite=args.overwrite)
    device = setup_run(args)
    x, y, x_held, y_held, how = make_splits(args.split, args.data_dir, args.seed)
    started = time.perf_counter()
    model = fit(MNISTClassifier().to(device), x.to(device), y.to(device), args)
    seconds = time.perf_counter() - started
    probs, _ = predict(model, x_held)
    accuracy = (probs.argmax(1) == y_held).float().mean().item()
    report = {"split": args.split, "held_out_accuracy": accuracy, "held_out_size": len(x_held), "how": how,
              "epochs": args.epochs, "seconds": round(seconds, 1), "hardware": hardware_description(device)}
    state = {"kind": CLASSIFIER_KIND, "model": {k: v.cpu() for k, v in model.state_dict().items()}, **report}
    weights = save_checkpoint(state, os.path.join(args.out, "mnist_classifier.pt"))
    write_json(os.path.join(args.out, "metrics.json"), report)
    print(f"held-out accuracy {accuracy:.4f} ({how}); {seconds:.0f} s")
    print(f"wrote {weights} and metrics.json in {args.out}")
    if args.publish:
        if accuracy < args.min_accuracy:
            raise ValueError(f"--publish: held-out accuracy {accuracy:.4f} is below --min_accuracy "
                             f"{args.min_accuracy}; the committed weights were left as they are")
        print(f"replaced {save_checkpoint(state, COMMITTED_WEIGHTS)}")
    return report


if __name__ == "__main__":
    run_main(main)
