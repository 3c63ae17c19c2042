"""Gradient flow through time: the norm of dL/dh(t) for every step t, RNN against LSTM.

    python part1_lstm/gradient_flow.py             # T = 30, into runs/gradient_flow
    python part1_lstm/gradient_flow.py --publish   # ... and report/figures/gradient_flow.{png,json}

For each network, at initialisation and after training (the sweep's settings), the loss of
each of --batch validation palindromes is backpropagated to every hidden state h(t); the
plotted value is the mean over the samples of ||dL_n/dh(t)||. Only the last step feeds the
loss, so what reaches h(t) for small t has travelled back through T-1-t recurrent steps.
"""
import dataclasses
import os

import torch
from torch import nn

from common.cli import ArgumentParser, pick_device, positive_int, run_main, seed_everything, seed_int, write_json
from common.paths import FIGURES, repo_relative
from common.outputs import add_output_args, destinations, prepare_run_folder, save_figure, subplots
from part1_lstm.training import SWEEP_BASE, build_model, checkpoint_path, load_model, make_splits, train

PUBLISHED = os.path.join(FIGURES, "gradient_flow.json")  # its figure: the same name, .png


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=positive_int, default=30, help="palindrome length (at least 2)")
    p.add_argument("--max_steps", type=positive_int, default=2500, help="training updates per network")
    p.add_argument("--batch", type=positive_int, default=512, help="validation samples averaged")
    p.add_argument("--lstm_checkpoint", default=None, help="use this trained LSTM instead of training one")
    p.add_argument("--rnn_checkpoint", default=None, help="use this trained RNN instead of training one")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    add_output_args(p, "runs/gradient_flow", PUBLISHED)
    return p


def hidden_gradient_norms(model, x, y):
    """Mean over the batch of ||dL_n/dh(t)||, t = 1..T-1, with L_n the cross-entropy of sample n."""
    hs = model.forward_plain(x)
    logits = hs[-1] @ model.W_ph.T + model.b_p
    # Summed (not averaged) over the batch, so that each sample's gradient is its own loss's.
    loss = nn.functional.cross_entropy(logits, y, reduction="sum")
    grads = torch.autograd.grad(loss, hs)
    return [g.norm(dim=1).mean().item() for g in grads]


def measure(config, checkpoint, batch, device):
    """The gradient norms of ``config``'s network at initialisation and trained (by this run, or
    the one in ``checkpoint``)."""
    _, (x_val, y_val) = make_splits(config)
    x, y = x_val[:batch].to(device), y_val[:batch].to(device)
    seed_everything(config.seed)
    initial = build_model(config).to(device)  # the same initial weights that train() draws
    entry = {"at_init": hidden_gradient_norms(initial, x, y)}
    if checkpoint is None:
        entry["val_accuracy"] = train(config)["val_accuracy"]
        checkpoint = checkpoint_path(config.out)
    trained, saved = load_model(checkpoint, device)
    if saved.input_length != config.input_length or not saved.one_hot or saved.model != config.model:
        raise ValueError(f"{checkpoint} is not a one-hot {config.model} of length T={config.input_length + 1}")
    entry["trained"] = hidden_gradient_norms(trained, x, y)
    entry["checkpoint"] = repo_relative(checkpoint)
    return entry


def run(args, out):
    """Measure both networks; write gradient_flow.{json,png} in ``out`` (and to --results/--publish)."""
    device = pick_device(args.device)
    results = {"T": args.T, "batch": args.batch, "max_steps": args.max_steps, "models": {}}
    for name in ("rnn", "lstm"):
        config = dataclasses.replace(SWEEP_BASE, model=name, input_length=args.T - 1, seed=args.seed, quiet=False,
                                     max_steps=args.max_steps, device=args.device, threads=args.threads,
                                     out=os.path.join(out, f"{name}_T{args.T}"))
        entry = measure(config, getattr(args, f"{name}_checkpoint"), args.batch, device)
        results["models"][name] = entry
        print(f"{name}: ||dL/dh(1)|| / ||dL/dh(T-1)|| = {entry['at_init'][0] / entry['at_init'][-1]:.2e} "
              f"at initialisation, {entry['trained'][0] / entry['trained'][-1]:.2e} after training")
    for path in destinations(out, "gradient_flow.json", args):
        plot(results, os.path.splitext(path)[0] + ".png")
        write_json(path, results)
        print(f"wrote {path} and its .png")
    return results


def plot(results, path):
    fig, axes = subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, key, title in zip(axes, ("at_init", "trained"), ("at initialisation", "after training")):
        for name, style in (("lstm", "o-"), ("rnn", "s--")):
            norms = results["models"][name][key]
            ax.semilogy(range(1, len(norms) + 1), norms, style, ms=3, label=name.upper())
        ax.set_title(title)
        ax.set_xlabel("time step t")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("mean ||dL/dh(t)||")
    axes[0].legend()
    fig.suptitle(f"Gradient reaching each hidden state, palindromes of length T = {results['T']}")
    save_figure(fig, path)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.T < 2:
        parser.error("--T must be at least 2")
    return run(args, prepare_run_folder(parser, args, argv, marker="gradient_flow.json"))


if __name__ == "__main__":
    run_main(main)
