"""Training the hand-written LSTM or the vanilla RNN on the palindrome task, with RMSProp:
``train(TrainConfig(...))``, the command line of which is train.py (and sweep.py, gradient_flow.py
build configs from SWEEP_BASE).

Writes to config.out: checkpoint.pt (every --checkpoint_every updates and at the end: weights,
optimiser, position in the epoch, history, config and random state, so that a resumed run
draws and computes exactly what the uninterrupted one would have), metrics.json (final and
per-epoch validation accuracy, training loss every 10 updates, steps, seconds) and curves.png.
An --out that holds another run is refused unless --resume (continue it) or --overwrite.
"""
import dataclasses
import math
import os
import time
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from common.checkpoint import load_checkpoint, load_weights, require, save_checkpoint
from common.cli import (finite_float, fraction, hardware_description, non_negative_float, positive_float, positive_int,
                        progress, setup_run, write_json)
from common.config import changed_settings, config_from_dict, device_option, option, seed_option, threads_option
from common.outputs import save_figure, subplots
from common.runs import Diverged, check_finite, rng_state, set_rng_state
from part1_lstm.dataset import PalindromeDataset, check_input_length, data_bytes, palindrome_count
from part1_lstm.lstm import LSTM
from part1_lstm.vanilla_rnn import VanillaRNN

CHECKPOINT_KIND = "part1_lstm/palindrome"
MODELS = ("lstm", "rnn")
LOG_EVERY = 10  # updates between two records of the training loss
# A resumed run may change how long it trains and where and how it reports; every other
# setting shaped the weights, data or optimiser state that the checkpoint holds.
RESUMABLE = ("max_steps", "max_epoch", "target_accuracy", "out", "device", "threads", "quiet", "checkpoint_every")
PROGRESS_KEYS = ("step", "epoch", "position", "perm", "seconds", "history")  # saved beside weights and config


@dataclass
class TrainConfig:
    """The settings of one run: the command line's options, saved in the checkpoint to rebuild it."""
    model: str = option("lstm", "network to train", choices=MODELS)
    input_length: int = option(4, "digits the model sees, T - 1 (palindrome length T = input_length + 1)",
                               type=positive_int)
    input_dim: int = option(None, "size of one input vector: 1 for digit values, 10 with --one_hot "
                                  "(default: set by --one_hot)", type=positive_int)
    one_hot: bool = option(False, "encode the input digits as one-hot vectors")
    num_classes: int = option(10, "output classes (the digits 0-9: at least 10)", type=positive_int)
    num_hidden: int = option(128, "hidden units", type=positive_int)
    forget_bias: float = option(1.0, "added to the LSTM forget-gate bias at initialisation", type=finite_float)
    batch_size: int = option(128, "sequences per update", type=positive_int)
    learning_rate: float = option(1e-3, "RMSProp learning rate", type=positive_float)
    max_norm: float = option(10.0, "clip the gradient norm to this (0: no clipping)", type=non_negative_float)
    max_epoch: int = option(1000, "at most this many epochs", type=positive_int)
    max_steps: int = option(2500, "at most this many updates", type=positive_int)
    data_size: int = option(100_000, "distinct palindromes drawn (capped at the number that exist)",
                            type=positive_int)
    portion_train: float = option(0.8, "share of them used for training", type=fraction)
    target_accuracy: float = option(None, "stop once the validation accuracy (checked each epoch) reaches this",
                                    type=fraction)
    plain: bool = option(False, "LSTM: run the plain equations loop instead of the fused fast path")
    checkpoint_every: int = option(500, "updates between two checkpoints (one is also written at the end)",
                                   type=positive_int)
    quiet: bool = option(False, "no progress bar")
    seed: int = seed_option(0)
    device: str = device_option()
    threads: int = threads_option()
    out: str = option("runs/part1", "folder for checkpoint.pt, metrics.json and curves.png")


def input_dim_of(config):
    """The input size implied by one_hot, checked against an explicit input_dim."""
    implied = 10 if config.one_hot else 1
    if config.input_dim is not None and config.input_dim != implied:
        raise ValueError(f"--input_dim {config.input_dim} does not fit "
                         f"{'one-hot' if config.one_hot else 'digit-value'} inputs, which have size {implied}")
    return implied


def eval_batch(input_steps):
    """Sequences per evaluation batch: 4096 up to 64 steps, fewer beyond, so that the fast path's
    buffers (about 48 bytes per hidden unit, step and sequence) stay bounded."""
    return max(1, min(4096, 4096 * 64 // input_steps))


def available_memory():
    """Bytes free for new allocations (MemAvailable on Linux, else the physical memory), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(config, count):
    """ValueError when the data set plus one batch's activations (16 floats per hidden unit, step
    and sequence: the fast path keeps 12 for backward) exceed half the memory free now: the
    estimate is rough, and a run that takes all of a shared machine's memory is not worth starting."""
    batch = min(count, max(config.batch_size, eval_batch(config.input_length)))
    need = (data_bytes(count, config.input_length, config.one_hot)
            + 16 * 4 * config.input_length * batch * config.num_hidden)
    free = available_memory()
    if free is not None and need > free / 2:
        raise ValueError(f"--input_length {config.input_length} with {count:,} palindromes"
                         f"{' (one-hot)' if config.one_hot else ''} needs about {need / 2**30:.1f} GiB of memory "
                         f"(data set and activations), more than half the {free / 2**30:.1f} GiB available: "
                         "lower --data_size, --input_length or --num_hidden")


def check_config(config):
    """ValueError naming the first setting that cannot work, before anything is built."""
    input_dim_of(config)
    if config.model not in MODELS:
        raise ValueError(f"unknown model {config.model!r}: choose from {', '.join(MODELS)}")
    if config.num_classes < 10:
        raise ValueError(f"--num_classes {config.num_classes} is too few: the targets are the digits 0-9")
    if not math.isfinite(config.forget_bias):
        raise ValueError(f"--forget_bias must be a finite number, got {config.forget_bias}")
    check_input_length(config.input_length)
    count = palindrome_count(config.input_length, config.data_size)
    if not 1 <= int(round(config.portion_train * count)) < count:
        raise ValueError(f"--portion_train {config.portion_train} leaves no training or no validation data "
                         f"out of {count} palindromes")
    check_memory(config, count)


def build_model(config):
    """The network of ``config``, its weights drawn from torch's global random state."""
    if config.model == "lstm":
        return LSTM(config.input_length, input_dim_of(config), config.num_hidden, config.num_classes,
                    forget_bias=config.forget_bias, fast=not config.plain)
    return VanillaRNN(config.input_length, input_dim_of(config), config.num_hidden, config.num_classes)


def make_splits(config):
    """((x_train, y_train), (x_val, y_val)): distinct palindromes, split at random by the seed.

    Both draws use generators of their own, so the global random state (initial weights, the
    epochs' orders) is the same whatever the data.
    """
    with warnings.catch_warnings():
        # At small T the cap is expected (T = 5 has 1000 palindromes); say it once, plainly.
        warnings.simplefilter("ignore")
        data = PalindromeDataset(config.input_length, config.data_size, one_hot=config.one_hot, seed=config.seed)
    if len(data) < config.data_size and not config.quiet:
        print(f"note: only {len(data)} distinct palindromes of length {data.seq_length} exist; using all of them")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed))
    n_train = int(round(config.portion_train * len(data)))
    train_idx, val_idx = order[:n_train], order[n_train:]
    return ((data.inputs[train_idx], data.targets[train_idx]),
            (data.inputs[val_idx], data.targets[val_idx]))


@torch.no_grad()
def accuracy(model, inputs, targets):
    """Share of ``inputs`` (N, T-1, input_dim) whose argmax logit is the target (N,)."""
    model.eval()
    correct, batch = 0, eval_batch(inputs.shape[1])
    for start in range(0, len(inputs), batch):
        logits = model(inputs[start:start + batch])
        correct += (logits.argmax(1) == targets[start:start + batch]).sum().item()
    model.train()
    return correct / len(inputs)


def checkpoint_path(out):
    return os.path.join(out, "checkpoint.pt")


def fresh_progress():
    """Where a new run starts. position: updates done in the current epoch, whose order is perm."""
    return {"step": 0, "epoch": 0, "position": 0, "perm": None, "seconds": 0.0,
            "history": {"step": [], "loss": [], "epoch": [], "val_accuracy": []}}


def elapsed(run):
    """Seconds of training so far, over every session of the run."""
    return time.perf_counter() - run["clock"]


def save_run(config, model, optimizer, run):
    """Write checkpoint.pt atomically; Diverged instead when the weights are no longer finite,
    so that the checkpoint on disk stays the last good one."""
    path = checkpoint_path(config.out)
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise Diverged(f"training stopped: the weights became NaN or infinite by step {run['step']}; "
                       + (f"the last good checkpoint is {path}" if os.path.exists(path) else "no checkpoint kept"))
    state = {k: run[k] for k in PROGRESS_KEYS} | {"seconds": elapsed(run)}
    save_checkpoint({"kind": CHECKPOINT_KIND, "config": dataclasses.asdict(config), "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "rng": rng_state(), **state}, path)


def config_in(state, path):
    """The TrainConfig saved in a checkpoint (its dataclasses.asdict)."""
    return config_from_dict(TrainConfig, require(state, ["config"], path)[0], where=os.fspath(path))


def restore(config, model, optimizer, device):
    """The progress saved in config.out's checkpoint; sets the model, optimiser and random state from it."""
    path = checkpoint_path(config.out)
    state = load_checkpoint(path, CHECKPOINT_KIND)  # on the CPU: torch.set_rng_state takes CPU tensors
    changed = changed_settings(config_in(state, path), config, ignore=RESUMABLE)
    if changed:
        name, old, new = changed[0]
        raise ValueError(f"{path} was trained with {name}={old}, not {new}: a resumed run keeps its settings")
    weights, optimizer_state, rng, *saved = require(state, ["model", "optimizer", "rng", *PROGRESS_KEYS], path)
    load_weights(model, weights, path)
    optimizer.load_state_dict(optimizer_state)
    set_rng_state(rng)
    run = dict(zip(PROGRESS_KEYS, saved))
    if run["perm"] is not None:
        run["perm"] = run["perm"].to(device)
    return run


def train_step(model, optimizer, x, y, max_norm, where, checkpoint):
    """One RMSProp update on the batch (x, y); returns the loss before it. Diverged on a NaN/inf loss."""
    loss = nn.functional.cross_entropy(model(x), y)
    check_finite(loss, "training", where, checkpoint)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_norm > 0:
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    optimizer.step()
    return loss


def reached_target(config, run):
    """An epoch has just ended with the validation accuracy at --target_accuracy or above."""
    val = run["history"]["val_accuracy"]
    return (config.target_accuracy is not None and run["position"] == 0 and bool(val)
            and val[-1] >= config.target_accuracy)


def run_epoch(config, model, optimizer, data, run, bar, total):
    """Train from run's position to the end of the epoch or the step budget; ``run`` is updated in place."""
    (x_train, y_train), (x_val, y_val) = data
    if run["perm"] is None:  # each epoch's order comes from the global random state, as it always has
        run["perm"] = torch.randperm(len(x_train), device=x_train.device)
    history = run["history"]
    for start in range(run["position"] * config.batch_size, len(x_train), config.batch_size):
        idx = run["perm"][start:start + config.batch_size]
        loss = train_step(model, optimizer, x_train[idx], y_train[idx], config.max_norm,
                          f"step {run['step'] + 1}", checkpoint_path(config.out))
        run["step"] += 1
        run["position"] += 1
        if run["step"] % LOG_EVERY == 0:
            history["step"].append(run["step"])
            history["loss"].append(loss.item())
            bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", refresh=False)
        bar.update(1)
        if run["step"] % config.checkpoint_every == 0:
            save_run(config, model, optimizer, run)
        if run["step"] >= total:
            break
    if run["position"] == math.ceil(len(x_train) / config.batch_size):
        run["epoch"], run["position"], run["perm"] = run["epoch"] + 1, 0, None
        history["epoch"].append(run["epoch"])
        history["val_accuracy"].append(accuracy(model, x_val, y_val))
        bar.set_postfix(val_acc=f"{history['val_accuracy'][-1]:.3f}", refresh=False)


def final_history(model, run, x_val, y_val):
    """metrics.json's history: the checkpointed one, plus an evaluation after an unfinished last
    epoch, which counts as an epoch (as it always has). Not checkpointed: a resumed run finishes that epoch."""
    history = {k: list(v) for k, v in run["history"].items()}
    if run["position"] > 0 or not history["epoch"]:
        history["epoch"].append(run["epoch"] + (run["position"] > 0))
        history["val_accuracy"].append(accuracy(model, x_val, y_val))
    return history


def train(config, resume=False):
    """Train as ``config`` says, into config.out; return the metrics (also written to metrics.json).

    resume: continue the run whose checkpoint.pt is in config.out; only the RESUMABLE settings may
    differ from its own. Raises ValueError for a config that cannot work and Diverged when the
    loss stops being finite (the last checkpoint is kept).
    """
    check_config(config)
    device = setup_run(config)
    model = build_model(config).to(device)
    data = tuple(tuple(t.to(device) for t in split) for split in make_splits(config))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)
    run = restore(config, model, optimizer, device) if resume else fresh_progress()
    run["clock"] = time.perf_counter() - run["seconds"]
    total = min(config.max_epoch * math.ceil(len(data[0][0]) / config.batch_size), config.max_steps)
    bar = progress(total, f"{config.model} T={config.input_length + 1}", disable=config.quiet,
                   initial=min(run["step"], total))
    while run["epoch"] < config.max_epoch and run["step"] < total and not reached_target(config, run):
        run_epoch(config, model, optimizer, data, run, bar, total)
    bar.close()
    run["seconds"] = elapsed(run)
    save_run(config, model, optimizer, run)
    return write_metrics(config, model, data, run, device)


def write_metrics(config, model, data, run, device):
    """metrics.json and curves.png in config.out; returns the metrics."""
    (x_train, y_train), (x_val, y_val) = data
    history = final_history(model, run, x_val, y_val)
    metrics = {
        "config": dataclasses.asdict(config), "seq_length": config.input_length + 1,
        "input_dim": input_dim_of(config), "val_accuracy": history["val_accuracy"][-1],
        "train_accuracy": accuracy(model, x_train, y_train), "steps": run["step"], "epochs": history["epoch"][-1],
        "seconds": round(run["seconds"], 2), "train_size": len(x_train),
        "val_size": len(x_val), "hardware": hardware_description(device), "history": history,
    }
    write_json(os.path.join(config.out, "metrics.json"), metrics)
    plot_curves(history, os.path.join(config.out, "curves.png"),
                title=f"{config.model.upper()}, T = {config.input_length + 1}")
    return metrics


def load_model(path, device="cpu"):
    """The model saved in a checkpoint of this script, in eval mode, and its TrainConfig."""
    state = load_checkpoint(path, CHECKPOINT_KIND, map_location=device)
    config = config_in(state, path)
    model = build_model(config).to(device)
    load_weights(model, require(state, ["model"], path)[0], path)
    return model.eval(), config


def plot_curves(history, path, title):
    fig, (ax1, ax2) = subplots(1, 2, figsize=(9, 3.2))
    ax1.plot(history["step"], history["loss"])
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss (cross-entropy)")
    ax1.set_yscale("log")
    ax2.plot(history["epoch"], history["val_accuracy"], marker=".")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy")
    ax2.set_ylim(0, 1.02)
    fig.suptitle(title)
    save_figure(fig, path, dpi=120)


# The settings every run of the sweep (and of gradient_flow.py) shares; README and report list them.
SWEEP_BASE = TrainConfig(one_hot=True, num_hidden=128, batch_size=128, learning_rate=1e-3, forget_bias=1.0,
                         max_norm=10.0, data_size=100_000, max_epoch=1000, quiet=True)
