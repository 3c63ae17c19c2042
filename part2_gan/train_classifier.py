"""Train the evaluation classifier (gan/classifier.py) and save its weights.

    python part2_gan/train_classifier.py --data-dir ../shared/data              # into runs/classifier
    python part2_gan/train_classifier.py --data-dir ../shared/data --publish    # replaces gan/weights/mnist_classifier.pt
    python part2_gan/train_classifier.py --data-dir ../shared/data --publish --from_run runs/classifier
                                         # publishes a classifier trained before, after re-measuring it

With the training split (the default) it trains on the 60,000 training images less a seeded
validation part (--validation), keeps the weights of the epoch with the best validation
accuracy (early stopping: it stops after --patience epochs without a better one), and reports
the accuracy on the 10,000 test images, which neither it nor any generator has seen. With
--split test (machines that have only the test split) it trains on 8,000 test images and tests
on the other 2,000. Every GAN metric is measured with the committed weights, so --publish
replaces them only with a classifier whose held-out accuracy is at least --min_accuracy, and
records its metrics in report/results/mnist_classifier.json. --from_run publishes the classifier
of an earlier run instead of training one: its held-out accuracy is measured again and must
match the run's record.
"""
import copy
import os
import time

import torch
from torch.nn import functional as F

from common.checkpoint import load_checkpoint, load_weights, save_checkpoint
from common.cli import (ArgumentParser, UsageError, add_common_args, fraction, hardware_description, non_negative_int,
                        positive_float, positive_int, progress, run_main, setup_run, write_json)
from common.paths import RESULTS
from common.runs import prepare_out
from gan.classifier import CLASSIFIER_KIND, COMMITTED_WEIGHTS, MNISTClassifier, predict, random_affine
from gan.data import ImageBatches, add_data_args, load_mnist_tensor

HELD_OUT = 2000  # test images held out when only the test split exists


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(p, what="MNIST split to train on")
    p.add_argument("--epochs", type=positive_int, default=15, help="at most this many epochs")
    p.add_argument("--validation", type=non_negative_int, default=5000,
                   help="training images held out to choose the epoch (0: keep the last)")
    p.add_argument("--patience", type=positive_int, default=4, help="stop after this many epochs without a better one")
    p.add_argument("--batch_size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (one-cycle schedule)")
    p.add_argument("--publish", action="store_true",
                   help="also replace the committed weights (gan/weights/mnist_classifier.pt) if accurate enough")
    p.add_argument("--min_accuracy", type=fraction, default=0.99, help="held-out accuracy --publish requires")
    p.add_argument("--from_run", metavar="RUN", default=None,
                   help="with --publish: train nothing, publish the classifier of folder RUN after re-measuring it")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--quiet", action="store_true")
    add_common_args(p, out="runs/classifier")
    return p


def make_splits(split, data_dir, seed, validation=0):
    """{"train": (x, y), "validation": (x, y) or None, "held_out": (x, y)} and a description."""
    x, y = load_mnist_tensor(split, data_dir)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    if split == "train":
        held_out = load_mnist_tensor("test", data_dir)
        how = f"the {len(held_out[0]):,} test images"
    else:
        order, rest = order[:-HELD_OUT], order[-HELD_OUT:]
        held_out, how = (x[rest], y[rest]), f"{HELD_OUT} test-split images it did not train on (seed {seed})"
    if validation >= len(order):
        raise ValueError(f"--validation {validation} leaves no training images of the {len(order)}")
    val, train = order[:validation], order[validation:]
    splits = {"train": (x[train], y[train]), "validation": (x[val], y[val]) if validation else None,
              "held_out": held_out}
    return splits, (f"trained on {len(train):,} {split}-split images ({validation:,} more held out for "
                    f"validation), tested on {how}")


def accuracy(model, x, y):
    probs, _ = predict(model, x)
    return (probs.argmax(1) == y).float().mean().item()


def fit(model, splits, args, device):
    """Adam with a one-cycle schedule on randomly shifted, rotated and scaled images; returns the
    model at its best validation epoch (the last, without validation) and the per-epoch record."""
    x, y = (t.to(device) for t in splits["train"])
    index = ImageBatches(torch.arange(len(x)), args.batch_size, seed=args.seed)  # shuffled batches of indices
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * index.per_epoch)
    best, history = (-1.0, None, 0), []
    bar = progress(args.epochs * index.per_epoch, "classifier", disable=args.quiet)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for k in range((epoch - 1) * index.per_epoch, epoch * index.per_epoch):
            idx = index(k).to(device)
            loss = F.cross_entropy(model(random_affine(x[idx])), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            bar.update(1)
        score = accuracy(model, *splits["validation"]) if splits["validation"] else float(epoch)
        history.append({"epoch": epoch, "loss": loss.item(), "validation_accuracy": score
                        if splits["validation"] else None})
        bar.set_postfix(val=f"{score:.4f}" if splits["validation"] else "-", refresh=False)
        if score > best[0]:
            best = (score, copy.deepcopy(model.state_dict()), epoch)
        elif epoch - best[2] >= args.patience:
            break
    bar.close()
    model.load_state_dict(best[1])
    return model, best[2], history


def publish(state, min_accuracy):
    """Replace the committed weights with ``state`` and record its metrics, if accurate enough."""
    report = {k: v for k, v in state.items() if k not in ("kind", "model")}
    if report["held_out_accuracy"] < min_accuracy:
        raise ValueError(f"--publish: held-out accuracy {report['held_out_accuracy']:.4f} is below --min_accuracy "
                         f"{min_accuracy}; the committed weights were left as they are")
    print(f"replaced {save_checkpoint(state, COMMITTED_WEIGHTS)} and "
          f"{write_json(os.path.join(RESULTS, 'mnist_classifier.json'), report)}")


def publish_run(args, device):
    """--from_run: the classifier of an earlier run, its held-out accuracy measured again, published."""
    path = os.path.join(args.from_run, "mnist_classifier.pt")
    state = load_checkpoint(path, CLASSIFIER_KIND)
    model = MNISTClassifier()
    load_weights(model, state["model"], path)
    splits, _ = make_splits(state["split"], args.data_dir, args.seed)
    how = f"the {len(splits['held_out'][0]):,} held-out images"
    measured = accuracy(model.to(device).eval(), *splits["held_out"])
    if state["split"] != "train" or abs(measured - state["held_out_accuracy"]) > 1e-4:
        raise ValueError(f"--from_run: {path} records held-out accuracy {state['held_out_accuracy']:.4f} on the "
                         f"{state['split']} split; measured again on {how}: {measured:.4f}. Not published")
    print(f"{path}: held-out accuracy {measured:.4f} on {how}, as recorded")
    publish(state, args.min_accuracy)
    return state


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.from_run:
        if not args.publish:
            raise UsageError("--from_run publishes an earlier run's classifier: give --publish too")
        return publish_run(args, setup_run(args))
    args.out = prepare_out(args.out, overwrite=args.overwrite)
    device = setup_run(args)
    splits, how = make_splits(args.split, args.data_dir, args.seed, args.validation)
    started = time.perf_counter()
    model, best_epoch, history = fit(MNISTClassifier().to(device), splits, args, device)
    seconds = time.perf_counter() - started
    report = {"split": args.split, "held_out_accuracy": accuracy(model, *splits["held_out"]),
              "held_out_size": len(splits["held_out"][0]), "evaluated_against": "test", "how": how,
              "validation_accuracy": history[best_epoch - 1]["validation_accuracy"], "best_epoch": best_epoch,
              "epochs": len(history), "history": history, "seconds": round(seconds, 1),
              "hardware": hardware_description(device)}
    state = {"kind": CLASSIFIER_KIND, "model": {k: v.cpu() for k, v in model.state_dict().items()}, **report}
    weights = save_checkpoint(state, os.path.join(args.out, "mnist_classifier.pt"))
    write_json(os.path.join(args.out, "metrics.json"), report)
    print(f"held-out accuracy {report['held_out_accuracy']:.4f} ({how}); epoch {best_epoch} kept; {seconds:.0f} s")
    print(f"wrote {weights} and metrics.json in {args.out}")
    if args.publish:
        publish(state, args.min_accuracy)
    return report


if __name__ == "__main__":
    run_main(main)
