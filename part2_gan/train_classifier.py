"""Train the evaluation classifier (classifier.py) and save its weights.

    python part2_gan/train_classifier.py --split test --data-dir ../shared/data

With the training split (the usual case) it trains on the 60,000 training images and
reports the accuracy on the 10,000 test images. Where only the test split exists (this
repository's machines), it trains on a seeded 8,000 of them and holds out the other 2,000.
"""
import os
import sys
import time

import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.checkpoint import save_checkpoint
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_float, positive_int,
                        progress, run_main, setup_run, write_json)
from part2_gan.classifier import CLASSIFIER_KIND, MNISTClassifier, predict, random_affine
from part2_gan.data import SPLITS, InMemoryBatches, load_mnist_tensor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WEIGHTS = os.path.join(REPO, "part2_gan", "weights", "mnist_classifier.pt")
HELD_OUT = 2000


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=SPLITS, default="train", help="MNIST split to train on")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--epochs", type=positive_int, default=40)
    p.add_argument("--batch_size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (cosine decay)")
    p.add_argument("--weights", default=DEFAULT_WEIGHTS, help="where to save the weights")
    p.add_argument("--quiet", action="store_true")
    add_common_args(p, out="runs/classifier")
    return p


def make_splits(split, data_dir, seed):
    """(train images, train labels, held-out images, held-out labels, description)."""
    if split == "train":
        x, y = load_mnist_tensor("train", data_dir)
        xt, yt = load_mnist_tensor("test", data_dir)
        return x, y, xt, yt, "trained on the 60,000 training images, tested on the 10,000 test images"
    x, y = load_mnist_tensor("test", data_dir)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, te = order[:-HELD_OUT], order[-HELD_OUT:]
    return (x[tr], y[tr], x[te], y[te],
            f"trained on {len(tr)} test-split images, tested on the other {HELD_OUT} (seed {seed})")


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    x, y, x_held, y_held, how = make_splits(args.split, args.data_dir, args.seed)
    model = MNISTClassifier().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    index = InMemoryBatches(torch.arange(len(x)), args.batch_size)  # shuffled batches of indices
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * len(index))
    x, y = x.to(device), y.to(device)
    bar = progress(args.epochs * len(index), "classifier", disable=args.quiet)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for idx in index:
            loss = F.cross_entropy(model(random_affine(x[idx])), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    seconds = time.perf_counter() - started
    probs, _ = predict(model, x_held)
    accuracy = (probs.argmax(1) == y_held).float().mean().item()
    report = {"split": args.split, "held_out_accuracy": accuracy, "held_out_size": len(x_held), "how": how,
              "epochs": args.epochs, "seconds": round(seconds, 1), "hardware": hardware_description(device)}
    save_checkpoint({"kind": CLASSIFIER_KIND, "model": {k: v.cpu() for k, v in model.state_dict().items()},
                     **report}, args.weights)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "metrics.json"), report)
    print(f"held-out accuracy {accuracy:.4f} ({how}); {seconds:.0f} s")
    print(f"wrote {args.weights} and {os.path.join(args.out, 'metrics.json')}")
    return report


if __name__ == "__main__":
    run_main(main)
