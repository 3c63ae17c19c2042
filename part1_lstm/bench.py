"""Time one training step of the hand-written LSTM against torch.nn.LSTM.

    python part1_lstm/bench.py

A step is forward, cross-entropy on the last step, backward and an RMSProp update. The
reference is torch.nn.LSTM (oneDNN kernels on CPU) followed by the same output layer. The
models are stepped in turn inside one loop, so that a change in machine speed hits them
alike, and the median of --reps steps is reported. Sizes: batch 128, T 20, hidden 128,
one-hot inputs (the sweep's setting), and the train.py defaults (T-1 = 4 steps of one
digit value). The last line is the ratio for the first configuration.
"""
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_int, run_main,
                        setup_run, write_json)
from part1_lstm.lstm import LSTM

CONFIGS = [  # (name, batch, input steps, input_dim, hidden)
    ("batch 128, T 20, hidden 128, one-hot", 128, 20, 10, 128),
    ("train.py defaults: batch 128, T-1 4, hidden 128, digit values", 128, 4, 1, 128),
]


class ReferenceLSTM(nn.Module):
    """torch.nn.LSTM and the output layer p = W_ph h(T) + b_p."""

    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        return self.out(self.lstm(x)[0][:, -1])


def make_step(model, x, y):
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def bench_config(batch, steps, input_dim, hidden, reps, warmup, device):
    """Median seconds per training step of each model, stepped in turn."""
    x = torch.randn(batch, steps, input_dim, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    models = {
        "hand-written (fast path)": LSTM(steps, input_dim, hidden, 10).to(device),
        "hand-written (plain loop)": LSTM(steps, input_dim, hidden, 10, fast=False).to(device),
        "torch.nn.LSTM": ReferenceLSTM(input_dim, hidden, 10).to(device),
    }
    step_fns = {name: make_step(m, x, y) for name, m in models.items()}
    times = {name: [] for name in models}
    for rep in range(warmup + reps):
        for name, step in step_fns.items():
            sync(device)
            t0 = time.perf_counter()
            step()
            sync(device)
            if rep >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=positive_int, default=200, help="timed steps per model and configuration")
    p.add_argument("--warmup", type=positive_int, default=20, help="untimed steps first")
    add_common_args(p, out="runs/bench_lstm")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    print(f"device: {device} ({hardware_description(device)}), torch {torch.__version__}")
    results = []
    for name, batch, steps, input_dim, hidden in CONFIGS:
        med = bench_config(batch, steps, input_dim, hidden, args.reps, args.warmup, device)
        ratio = med["hand-written (fast path)"] / med["torch.nn.LSTM"]
        plain_ratio = med["hand-written (plain loop)"] / med["torch.nn.LSTM"]
        print(f"\n{name}")
        for model, sec in med.items():
            print(f"  {model:28s} {sec * 1e3:8.2f} ms/step")
        print(f"  fast/nn.LSTM {ratio:.2f}, plain/nn.LSTM {plain_ratio:.2f}")
        results.append({"config": name, "batch": batch, "input_steps": steps, "input_dim": input_dim,
                        "hidden": hidden, "ms_per_step": {k: v * 1e3 for k, v in med.items()},
                        "ratio_fast": ratio, "ratio_plain": plain_ratio})
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "lstm_bench.json")
    write_json(path, {"device": str(device), "hardware": hardware_description(device), "torch": torch.__version__,
                      "reps": args.reps, "results": results})
    print(f"\nwrote {path}")
    print(f"hand-written/nn.LSTM time ratio: {results[0]['ratio_fast']:.2f}")
    return results


if __name__ == "__main__":
    run_main(main)
