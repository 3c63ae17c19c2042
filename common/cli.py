"""Command-line conventions shared by every script in the repository.

Every script accepts ``--seed``, ``--device`` and ``--out``; every error a user can
cause (a bad option, missing data, a wrong checkpoint) ends in one line on stderr and
exit status 2, never a traceback. Scripts build their parser with :class:`ArgumentParser`
and wrap ``main`` with :func:`run_main`, which is the only place that turns exceptions into
messages: library code raises ordinary ones (ValueError, FileNotFoundError, OSError, Diverged).
Set TRACEBACK=1 to see the full traceback of such an error.
"""
import argparse
import json
import os
import random
import sys

import numpy as np
import torch


class UsageError(Exception):
    """An error in how a script was called (options that contradict each other, a used --out):
    reported as one line, exit status 2."""


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already says what the default is,
    or the default is None (an option left unset: its help says what happens then)."""

    def _get_help_string(self, action):
        text = action.help or ""
        return text if "default" in text or action.default is None else super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with defaults shown in --help and one-line errors."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        # argparse prints the whole usage block first; one line is easier to read in a log.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _typed(kind, check, what):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    parse.__name__ = what  # argparse names the type in its message
    return parse


positive_int = _typed(int, lambda v: v > 0, "a positive integer")
non_negative_int = _typed(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _typed(float, lambda v: v > 0 and np.isfinite(v), "a positive number")
non_negative_float = _typed(float, lambda v: v >= 0 and np.isfinite(v), "a non-negative number")
fraction = _typed(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1")
non_negative_fraction = _typed(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
seed_int = _typed(int, lambda v: 0 <= v < 2**63, "a seed between 0 and 2**63 - 1")
finite_float = _typed(float, np.isfinite, "a finite number")


def add_common_args(parser, out, out_default=None):
    """Add --seed, --device, --threads and --out (default ``out``; ``out_default`` describes a default
    the script works out itself, when ``out`` is None) to ``parser``."""
    parser.add_argument("--seed", type=seed_int, default=0, help="random seed")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (default: torch's choice, one per core)")
    parser.add_argument("--out", default=out, help="folder for metrics.json, figures, checkpoints"
                        + (f" (default: {out_default})" if out_default else ""))
    return parser


def add_resume_args(parser, quiet=True):
    """Add --resume and --overwrite (what to do with a run already in --out) and, with ``quiet``,
    --quiet (no progress bar) to ``parser``."""
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint "
                        "(with the run's own settings)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out instead of refusing to")
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def setup_run(args):
    """Apply --threads and --seed; return the torch.device of --device."""
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    return pick_device(args.device)


def pick_device(name="auto"):
    """Return the torch.device for ``name``; 'auto' prefers CUDA, then MPS, then CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} asked for, but MPS is not available here")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def seed_everything(seed):
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def hardware_description(device):
    """A short description of where a run happened, for results files."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    from common.bench import cpu_model
    threads = torch.get_num_threads()
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores, {threads} torch thread{'s' if threads != 1 else ''}"


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically: the file is complete or untouched."""
    text = json.dumps(obj, indent=2) + "\n"

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    return write_atomic(path, write)


def write_atomic(path, write):
    """Call ``write(tmp)`` to produce a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is removed whatever happens (a failed write, a full disk, Ctrl-C), so an
    interrupted write leaves neither a half-written ``path`` nor a stray ``*.tmpPID``.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def error_line(err):
    """One line naming an exception a user caused."""
    if isinstance(err, OSError) and err.strerror:
        where = f" {err.filename}" if err.filename else ""
        return f"{err.strerror}:{where}"
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def run_main(main, argv=None):
    """Call ``main(argv)``; user errors become one line on stderr and exit status 2.

    UsageError, ValueError, OSError (a missing file, a full disk) and a Diverged run are the
    errors a user can cause or fix; anything else is a bug and keeps its traceback.
    """
    from common.runs import Diverged
    try:
        result = main(argv)
    except (UsageError, ValueError, OSError, Diverged) as err:
        if os.environ.get("TRACEBACK"):
            raise
        prog = os.path.basename(sys.argv[0]) or "script"
        print(f"{prog}: error: {error_line(err)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    return result


def progress(total, desc, disable=False, initial=0):
    """A tqdm progress bar; in a log file (not a terminal) it redraws every 10 s, not 10 times a second."""
    from tqdm import tqdm
    interactive = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=disable, initial=initial, dynamic_ncols=True,
                mininterval=0.1 if interactive else 10.0, maxinterval=10.0 if interactive else 60.0)
