"""The one timing harness every benchmark of the repository goes through.

    timings = time_interleaved({"ours": step_a, "reference": step_b}, rounds=15, calls=20, device=device)
    timings["ours"].median / timings["reference"].median

Each variant is a callable doing one unit of work (a training step, say). After ``warmup``
untimed calls of each, every round times ``calls`` consecutive calls of every variant, the
variants taken in turn (and in a rotated order from round to round), so that a change in the
machine's speed hits all of them alike. The device is synchronised around every timed block
(CUDA and MPS run asynchronously). A result is the seconds per call of each round: its median,
the quartiles and the extremes are what benchmarks report, with :func:`environment` (threads,
processor, torch version) beside them.
"""
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from common.cli import hardware_description, non_negative_int, positive_int, seed_int, setup_run, write_json
from common.outputs import destinations, prepare_run_folder


def synchronize(device):
    """Wait for the device's queued work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class Timing:
    """Seconds per call over the rounds: median, quartiles, extremes, and every round's value."""
    median: float
    q1: float
    q3: float
    min: float
    max: float
    rounds: list

    @classmethod
    def of(cls, values):
        q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        return cls(statistics.median(values), q1, q3, min(values), max(values), list(values))

    def as_dict(self, scale=1.0):
        """The figures times ``scale`` (1e3 for milliseconds)."""
        return {k: ([x * scale for x in v] if k == "rounds" else v * scale) for k, v in asdict(self).items()}


def time_interleaved(variants, rounds=10, calls=10, warmup=3, device="cpu"):
    """{name: Timing} of each callable in ``variants``, in seconds per call (see the module's docstring)."""
    if rounds < 1 or calls < 1:
        raise ValueError("rounds and calls must be at least 1")
    names = list(variants)
    for name in names:
        for _ in range(warmup):
            variants[name]()
    synchronize(device)
    per_round = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = variants[name]
            synchronize(device)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            synchronize(device)
            per_round[name].append((time.perf_counter() - start) / calls)
    return {name: Timing.of(per_round[name]) for name in names}


def ratio_timing(a, b):
    """The ratio a/b of two Timings, round by round: its median and extremes (same rounds, side by side)."""
    ratios = [x / y for x, y in zip(a.rounds, b.rounds)]
    return Timing.of(ratios)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device="cpu"):
    """Where a timing was taken: device, processor, cores, torch threads, torch version, load average."""
    device = torch.device(device)
    env = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    if hasattr(os, "getloadavg"):
        env["load_average_1min"] = round(os.getloadavg()[0], 2)
    return env


def describe(env):
    """One line for a results table: 'CPU model, N cores, T torch threads' (or the GPU)."""
    where = env.get("gpu") or f"{env['cpu']}, {env['cores']} cores"
    return f"{where}, {env['threads']} torch thread{'s' if env['threads'] != 1 else ''}, torch {env['torch']}"


# ----------------------------------------------------------------- what every benchmark script shares
def training_step(model, x, y):
    """A callable doing one RMSProp training step of ``model`` on x (B, T, I), y (B,)."""
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def add_timing_args(parser, rounds, calls, warmup):
    """The options every benchmark shares: the harness's rounds, calls and warm-up; --seed, --device, --threads."""
    parser.add_argument("--rounds", type=positive_int, default=rounds,
                        help="timed rounds of each model; the median and spread are over them")
    parser.add_argument("--calls", type=positive_int, default=calls, help="training steps of each model per round")
    parser.add_argument("--warmup", type=non_negative_int, default=warmup, help="untimed steps of each model first")
    parser.add_argument("--seed", type=seed_int, default=0, help="random seed")
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (default: torch's choice, one per core)")
    return parser


def start(parser, argv, marker):
    """Parse a benchmark's command line: (args, device, run folder), --threads and --seed applied."""
    args = parser.parse_args(argv)
    device = setup_run(args)  # a bad --device fails before prepare_run_folder makes a folder
    return args, device, prepare_run_folder(parser, args, argv, marker=marker)


def timing_header(args, device):
    """How and where a timing file was measured."""
    return {"device": str(device), "hardware": hardware_description(device), "torch": torch.__version__,
            "environment": environment(device), "rounds": args.rounds, "calls": args.calls, "warmup": args.warmup,
            "reps": args.rounds * args.calls}


def write_timings(payload, out, name, args):
    """Write the JSON into the run folder (as ``name``), and to --results / --publish when given."""
    for path in destinations(out, name, args):
        write_json(path, payload)
        print(f"wrote {path}")
