"""Running many 2D runs: each in this process or in worker processes, resuming those whose
folder holds a checkpoint of the very same run (shared by sweep_2d.py and tune_2d.py)."""
import dataclasses
import json
import os
import sys

import torch

from common.cli import positive_int
from common.checkpoint import load_checkpoint
from gan.trainer import TRAINING_KIND
from mode_collapse.train_2d import Run2DConfig, train_2d


def read_json(path, what):
    """The JSON in ``path``; ValueError naming the file when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {what} {path}: {getattr(err, 'strerror', None) or err}") from None



def _train_task(task):
    """One run in a worker process: (config dict, seed, out, device, snapshots, resume, threads) -> record."""
    config, seed, out, device, snapshots, resume, threads = task
    if threads:
        torch.set_num_threads(threads)
    return train_2d(Run2DConfig(**config), seed, out, device, snapshots, resume=resume)


def resumable(out, config, seed):
    """Whether OUT holds a checkpoint of this very run (config and seed) to continue from."""
    path = os.path.join(out, "checkpoint.pt")
    if not os.path.isfile(path):
        return False
    try:
        state = load_checkpoint(path, TRAINING_KIND)
    except ValueError:
        state = {}
    if state.get("config") == dataclasses.asdict(config) and state.get("seed") == seed:
        return True
    print(f"note: {path} is a run of other settings: training {config.method} on {config.dataset} from the start",
          file=sys.stderr)
    return False


def run_many(tasks, jobs=1, threads=None, on_record=None):
    """Train every task (config, seed, out, device, snapshots); ``jobs`` at a time in worker processes
    of ``threads`` threads each (one by default), or here when jobs is 1. A task whose out holds a
    checkpoint of the same run resumes from it. ``on_record(task, record)`` is called in this
    process as each run ends (in the order they end); returns the records in the order of ``tasks``."""
    full = [(dataclasses.asdict(c), seed, out, str(device), snapshots, resumable(out, c, seed),
             threads if threads else (1 if jobs > 1 else None)) for c, seed, out, device, snapshots in tasks]
    records = [None] * len(full)
    if jobs == 1 or len(full) <= 1:
        for i, task in enumerate(full):
            records[i] = _train_task(task)
            if on_record:
                on_record(tasks[i], records[i])
        return records
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_train_task, task): i for i, task in enumerate(full)}
        for future in as_completed(futures):
            i = futures[future]
            records[i] = future.result()
            if on_record:
                on_record(tasks[i], records[i])
    return records


def add_job_args(p, what):
    """--jobs, --device and --threads of a script that trains many runs (``what``: "runs", "trials")."""
    p.add_argument("--jobs", type=positive_int, default=1, help=f"{what} trained at a time, each on --threads threads")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=positive_int, default=None,
                   help=f"torch CPU threads per {what[:-1]} (default: torch's with --jobs 1, else 1)")
