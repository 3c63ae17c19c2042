"""Gradient flow through time: the norm of dL/dh(t) for every step t, RNN against LSTM.

    python part1_lstm/gradient_flow.py          # T = 30, writes report/figures/gradient_flow.{png,json}

For each network, at initialisation and after training (the sweep's settings), the loss of
each of --batch validation palindromes is backpropagated to every hidden state h(t); the
plotted value is the mean over the samples of ||dL_n/dh(t)||. Only the last step feeds the
loss, so what reaches h(t) for small t has travelled back through T-1-t recurrent steps.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import ArgumentParser, UsageError, pick_device, positive_int, run_main, seed_everything, write_json
from part1_lstm import train as train_script
from part1_lstm.sweep import SWEEP_SETTINGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=positive_int, default=30, help="palindrome length (at least 2)")
    p.add_argument("--max_steps", type=positive_int, default=2500, help="training updates per network")
    p.add_argument("--batch", type=positive_int, default=512, help="validation samples averaged")
    p.add_argument("--lstm_checkpoint", default=None, help="use this trained LSTM instead of training one")
    p.add_argument("--rnn_checkpoint", default=None, help="use this trained RNN instead of training one")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=os.path.join(REPO, "report", "figures"),
                   help="folder for gradient_flow.png and gradient_flow.json")
    p.add_argument("--runs", default="runs/gradient_flow", help="folder for the training runs")
    return p


def hidden_gradient_norms(model, x, y):
    """Mean over the batch of ||dL_n/dh(t)||, t = 1..T-1, with L_n the cross-entropy of sample n."""
    hs = model.forward_plain(x)
    logits = hs[-1] @ model.W_ph.T + model.b_p
    # Summed (not averaged) over the batch, so that each sample's gradient is its own loss's.
    loss = nn.functional.cross_entropy(logits, y, reduction="sum")
    grads = torch.autograd.grad(loss, hs)
    return [g.norm(dim=1).mean().item() for g in grads]


def run(args):
    if args.T < 2:
        raise UsageError("--T must be at least 2")
    device = pick_device(args.device)
    results = {"T": args.T, "batch": args.batch, "max_steps": args.max_steps, "models": {}}
    for model_name in ("rnn", "lstm"):
        run_dir = os.path.join(args.runs, f"{model_name}_T{args.T}")
        train_args = train_script.build_parser().parse_args(
            SWEEP_SETTINGS + ["--model", model_name, "--input_length", str(args.T - 1), "--seed", str(args.seed),
                              "--max_steps", str(args.max_steps), "--device", args.device, "--out", run_dir])
        _, (x_val, y_val) = train_script.make_splits(train_args)
        x, y = x_val[:args.batch].to(device), y_val[:args.batch].to(device)
        seed_everything(args.seed)
        initial = train_script.build_model(train_args).to(device)  # the same initial weights train() draws
        entry = {"at_init": hidden_gradient_norms(initial, x, y)}
        checkpoint = getattr(args, f"{model_name}_checkpoint")
        if checkpoint is None:
            metrics = train_script.train(train_args)
            checkpoint = os.path.join(run_dir, "checkpoint.pt")
            entry["val_accuracy"] = metrics["val_accuracy"]
        trained, cfg = train_script.load_model(checkpoint, device)
        if cfg["input_length"] != args.T - 1 or not cfg["one_hot"]:
            raise UsageError(f"{checkpoint} is not a one-hot model of length T={args.T}")
        entry["trained"] = hidden_gradient_norms(trained, x, y)
        entry["checkpoint"] = os.path.relpath(checkpoint, REPO) if os.path.isabs(checkpoint) else checkpoint
        results["models"][model_name] = entry
        print(f"{model_name}: ||dL/dh(1)|| / ||dL/dh(T-1)|| = {entry['at_init'][0] / entry['at_init'][-1]:.2e} "
              f"at initialisation, {entry['trained'][0] / entry['trained'][-1]:.2e} after training")
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "gradient_flow.json")
    fig_path = os.path.join(args.out, "gradient_flow.png")
    write_json(json_path, results)
    plot(results, fig_path)
    print(f"wrote {json_path} and {fig_path}")
    return results


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
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
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None):
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    run_main(main)
