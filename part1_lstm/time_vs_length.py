"""Training-step time against sequence length: the hand-written LSTM against one Transformer layer.

    python part1_lstm/time_vs_length.py     # writes report/results/lstm_time_vs_length.json

The LSTM's T steps run one after the other: each needs h(t-1). A self-attention layer
treats all positions in one set of matrix products. Both models map one-hot digits
(batch, T, 10) to 10 logits with hidden size 128; a step is forward, backward and an RMSProp
update; the two are stepped in turn, and the median of --reps steps is kept per length. It also
counts the depth of each forward pass's autograd graph (the longest chain of operations that
must run one after another): T-proportional for the LSTM, constant for the Transformer layer.
On one or two CPU threads the Transformer's parallel work still runs largely in sequence, so
the times show its arithmetic cost; the depth shows what parallel hardware can exploit.
"""
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
from common.cli import (ArgumentParser, add_common_args, hardware_description, positive_int, run_main, setup_run,
                        write_json)
from common.paths import RESULTS
from part1_lstm.lstm import LSTM


class TinyTransformer(nn.Module):
    """Linear embedding + learned positions, one TransformerEncoderLayer (4 heads), last position -> logits."""

    def __init__(self, max_len, input_dim=10, d_model=128, output_dim=10):
        super().__init__()
        self.embed = nn.Linear(input_dim, d_model)
        self.pos = nn.Parameter(torch.zeros(max_len, d_model))
        self.layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=2 * d_model, batch_first=True)
        self.out = nn.Linear(d_model, output_dim)

    def forward(self, x):
        h = self.layer(self.embed(x) + self.pos[: x.shape[1]])
        return self.out(h[:, -1])


def graph_depth(output):
    """The longest chain of dependent operations in the autograd graph that produced ``output``:
    how many operations must run one after another, however many processors there are."""
    depth = {}
    stack = [(output.grad_fn, False)]
    while stack:
        node, expanded = stack.pop()
        if node is None or (node in depth and not expanded):
            continue
        children = [n for n, _ in node.next_functions if n is not None]
        if expanded:
            depth[node] = 1 + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[output.grad_fn]


def time_steps(models, x, y, reps, warmup):
    steps = {}
    for name, model in models.items():
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)

        def step(model=model, opt=opt):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        steps[name] = step
    times = {name: [] for name in models}
    for rep in range(warmup + reps):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            if rep >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=positive_int, nargs="+", default=[5, 10, 20, 40, 80, 160])
    p.add_argument("--batch", type=positive_int, default=32)
    p.add_argument("--reps", type=positive_int, default=30)
    p.add_argument("--warmup", type=positive_int, default=5)
    add_common_args(p, out=RESULTS)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    rows = []
    for T in args.lengths:
        x = nn.functional.one_hot(torch.randint(0, 10, (args.batch, T)), 10).float().to(device)
        y = torch.randint(0, 10, (args.batch,), device=device)
        models = {"lstm": LSTM(T, 10, 128, 10, forget_bias=1.0).to(device),
                  "transformer": TinyTransformer(T).to(device)}
        ms = time_steps(models, x, y, args.reps, args.warmup)
        plain = models["lstm"].forward_plain(x)[-1] @ models["lstm"].W_ph.T + models["lstm"].b_p
        depth = {"lstm": graph_depth(plain),  # the equations as written, one operation per node
                 "transformer": graph_depth(models["transformer"](x))}
        rows.append({"T": T, "lstm_ms": ms["lstm"], "transformer_ms": ms["transformer"],
                     "lstm_sequential_steps": T, "transformer_sequential_steps": 1,
                     "lstm_graph_depth": depth["lstm"], "transformer_graph_depth": depth["transformer"]})
        print(f"T={T:4d}: LSTM {ms['lstm']:7.2f} ms/step, Transformer layer {ms['transformer']:7.2f} ms/step; "
              f"dependent operations: LSTM {depth['lstm']}, Transformer {depth['transformer']}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "lstm_time_vs_length.json")
    write_json(path, {"batch": args.batch, "hidden": 128, "hardware": hardware_description(device),
                      "torch": torch.__version__, "rows": rows})
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    run_main(main)
