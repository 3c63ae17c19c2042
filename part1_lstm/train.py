"""Train the hand-written LSTM or the vanilla RNN on the palindrome task, with RMSProp.

    python part1_lstm/train.py                      # LSTM, T = 5 (input_length 4)
    python part1_lstm/train.py --model rnn --input_length 9 --one_hot

Writes to --out: metrics.json (final and per-epoch validation accuracy, steps, seconds),
curves.png (training loss and validation accuracy) and checkpoint.pt.
"""
import math
import os
import sys
import time
import warnings

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.checkpoint import load_checkpoint, load_weights, save_checkpoint
from common.cli import (ArgumentParser, UsageError, add_common_args, fraction, hardware_description,
                        non_negative_float, positive_float, positive_int, progress, run_main,
                        setup_run, write_json)
from part1_lstm.dataset import PalindromeDataset
from part1_lstm.lstm import LSTM
from part1_lstm.vanilla_rnn import VanillaRNN

CHECKPOINT_KIND = "part1_lstm/palindrome"
MODELS = ("lstm", "rnn")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=MODELS, default="lstm", help="network to train")
    p.add_argument("--input_length", type=positive_int, default=4,
                   help="digits the model sees, T - 1 (palindrome length T = input_length + 1)")
    p.add_argument("--input_dim", type=positive_int, default=None,
                   help="size of one input vector: 1 for digit values, 10 with --one_hot (default: set by --one_hot)")
    p.add_argument("--one_hot", action="store_true", help="encode the input digits as one-hot vectors")
    p.add_argument("--num_classes", type=positive_int, default=10, help="output classes (digits)")
    p.add_argument("--num_hidden", type=positive_int, default=128, help="hidden units")
    p.add_argument("--forget_bias", type=float, default=1.0,
                   help="added to the LSTM forget-gate bias at initialisation")
    p.add_argument("--batch_size", type=positive_int, default=128)
    p.add_argument("--learning_rate", type=positive_float, default=1e-3, help="RMSProp learning rate")
    p.add_argument("--max_norm", type=non_negative_float, default=10.0,
                   help="clip the gradient norm to this (0: no clipping)")
    p.add_argument("--max_epoch", type=positive_int, default=1000, help="at most this many epochs")
    p.add_argument("--max_steps", type=positive_int, default=2500, help="at most this many updates")
    p.add_argument("--data_size", type=positive_int, default=100_000,
                   help="distinct palindromes drawn (capped at the number that exist)")
    p.add_argument("--portion_train", type=fraction, default=0.8, help="share of them used for training")
    p.add_argument("--target_accuracy", type=fraction, default=None,
                   help="stop once the validation accuracy (checked each epoch) reaches this")
    p.add_argument("--plain", action="store_true",
                   help="LSTM: run the plain equations loop instead of the fused fast path")
    p.add_argument("--resume", metavar="CKPT", default=None,
                   help="start from this checkpoint's weights and optimiser state")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_args(p, out="runs/part1")
    return p


def input_dim_of(args):
    """The input size implied by --one_hot, checked against an explicit --input_dim."""
    implied = 10 if args.one_hot else 1
    if args.input_dim is not None and args.input_dim != implied:
        raise UsageError(f"--input_dim {args.input_dim} does not fit "
                         f"{'one-hot' if args.one_hot else 'digit-value'} inputs, which have size {implied}")
    return implied


def build_model(args):
    seq_length, input_dim = args.input_length, input_dim_of(args)
    if args.model == "lstm":
        return LSTM(seq_length, input_dim, args.num_hidden, args.num_classes,
                    forget_bias=args.forget_bias, fast=not args.plain)
    if args.model == "rnn":
        return VanillaRNN(seq_length, input_dim, args.num_hidden, args.num_classes)
    raise UsageError(f"unknown model {args.model!r}: choose from {', '.join(MODELS)}")


def make_splits(args):
    """Training and validation tensors: distinct palindromes, split at random by --seed."""
    with warnings.catch_warnings():
        # At small T the cap is expected (T = 5 has 1000 palindromes); say it once, plainly.
        warnings.simplefilter("ignore")
        data = PalindromeDataset(args.input_length, args.data_size, one_hot=args.one_hot, seed=args.seed)
    if len(data) < args.data_size and not args.quiet:
        print(f"note: only {len(data)} distinct palindromes of length {data.seq_length} exist; using all of them")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))
    n_train = int(round(args.portion_train * len(data)))
    if n_train < 1 or n_train >= len(data):
        raise UsageError(f"--portion_train {args.portion_train} leaves no training or no validation data "
                         f"out of {len(data)} palindromes")
    train_idx, val_idx = order[:n_train], order[n_train:]
    return ((data.inputs[train_idx], data.targets[train_idx]),
            (data.inputs[val_idx], data.targets[val_idx]))


@torch.no_grad()
def accuracy(model, inputs, targets, batch_size=4096):
    model.eval()
    correct = 0
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start:start + batch_size])
        correct += (logits.argmax(1) == targets[start:start + batch_size]).sum().item()
    model.train()
    return correct / len(inputs)


def config_of(args):
    keys = ("model", "input_length", "one_hot", "num_classes", "num_hidden", "forget_bias", "batch_size",
            "learning_rate", "max_norm", "max_epoch", "max_steps", "data_size", "portion_train",
            "target_accuracy", "plain", "seed")
    return {k: getattr(args, k) for k in keys} | {"input_dim": input_dim_of(args),
                                                   "seq_length": args.input_length + 1}


def train(args):
    """Train as ``args`` says; return the metrics dict (also written to args.out/metrics.json)."""
    device = setup_run(args)
    model = build_model(args).to(device)
    (x_train, y_train), (x_val, y_val) = make_splits(args)
    x_train, y_train, x_val, y_val = (t.to(device) for t in (x_train, y_train, x_val, y_val))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=args.learning_rate)
    start_epoch, step = 0, 0
    if args.resume:
        state = load_checkpoint(args.resume, CHECKPOINT_KIND, map_location=device)
        mismatch = {k: (state["config"].get(k), v) for k, v in config_of(args).items()
                    if k in ("model", "input_length", "input_dim", "num_hidden", "num_classes")
                    and state["config"].get(k) != v}
        if mismatch:
            k, (theirs, ours) = next(iter(mismatch.items()))
            raise UsageError(f"checkpoint {args.resume} was trained with {k}={theirs}, not {ours}")
        load_weights(model, state["model"], args.resume)
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step = state["epoch"], state["step"]

    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total = min(args.max_epoch * steps_per_epoch, args.max_steps)
    history = {"step": [], "loss": [], "epoch": [], "val_accuracy": []}
    t0 = time.perf_counter()
    bar = progress(total, f"{args.model} T={args.input_length + 1}", disable=args.quiet, initial=min(step, total))
    val_acc = accuracy(model, x_val, y_val)
    epoch = start_epoch
    while epoch < args.max_epoch and step < total:
        perm = torch.randperm(len(x_train), device=device)
        for start in range(0, len(x_train), args.batch_size):
            idx = perm[start:start + args.batch_size]
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if args.max_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.max_norm)
            optimizer.step()
            step += 1
            if step % 10 == 0 or step == total:
                history["step"].append(step)
                history["loss"].append(loss.item())
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", val_acc=f"{val_acc:.3f}", refresh=False)
            bar.update(1)
            if step >= total:
                break
        epoch += 1
        val_acc = accuracy(model, x_val, y_val)
        history["epoch"].append(epoch)
        history["val_accuracy"].append(val_acc)
        bar.set_postfix(loss=f"{loss.item():.3f}", val_acc=f"{val_acc:.3f}", refresh=False)
        if args.target_accuracy is not None and val_acc >= args.target_accuracy:
            break
    bar.close()
    seconds = time.perf_counter() - t0

    os.makedirs(args.out, exist_ok=True)
    metrics = {
        "config": config_of(args),
        "val_accuracy": val_acc,
        "train_accuracy": accuracy(model, x_train, y_train),
        "steps": step,
        "epochs": epoch,
        "seconds": round(seconds, 2),
        "train_size": len(x_train),
        "val_size": len(x_val),
        "hardware": hardware_description(device),
        "history": history,
    }
    save_checkpoint({"kind": CHECKPOINT_KIND, "config": config_of(args), "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step},
                    os.path.join(args.out, "checkpoint.pt"))
    write_json(os.path.join(args.out, "metrics.json"), metrics)
    plot_curves(history, os.path.join(args.out, "curves.png"), title=f"{args.model.upper()}, T = {args.input_length + 1}")
    return metrics


def load_model(path, device="cpu"):
    """The model saved in a checkpoint of this script, in eval mode, and its config."""
    state = load_checkpoint(path, CHECKPOINT_KIND, map_location=device)
    cfg = state["config"]
    args = build_parser().parse_args(["--model", cfg["model"], "--input_length", str(cfg["input_length"]),
                                      "--num_hidden", str(cfg["num_hidden"]),
                                      "--num_classes", str(cfg["num_classes"])] + (["--one_hot"] if cfg["one_hot"] else []))
    model = build_model(args).to(device)
    load_weights(model, state["model"], path)
    return model.eval(), cfg


def plot_curves(history, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot(history["step"], history["loss"])
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss (cross-entropy)")
    ax1.set_yscale("log")
    ax2.plot(history["epoch"], history["val_accuracy"], marker=".")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy")
    ax2.set_ylim(0, 1.02)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    metrics = train(args)
    print(f"{args.model} T={args.input_length + 1}: validation accuracy {metrics['val_accuracy']:.4f} "
          f"after {metrics['steps']} steps ({metrics['seconds']:.1f} s)")
    print(f"wrote {os.path.join(args.out, 'metrics.json')}, curves.png and checkpoint.pt in {args.out}")
    return metrics


if __name__ == "__main__":
    run_main(main)
