"""Where scripts write: a run folder under runs/ by default, a committed file only when asked.

Every script writes into --out (under runs/, git-ignored) and refuses a folder that holds another
run unless told to --resume or --overwrite it (common.runs.prepare_out). The curated results the
report cites change only with --publish (their committed path) or --results PATH, and then
atomically, once the new content is complete.
"""
import os
import shutil

from common.cli import UsageError, write_atomic
from common.config import explicit_options
from common.paths import REPO
from common.runs import prepare_out, writable_folder


def add_output_args(parser, out, published, resume=False):
    """--out (default ``out``), --overwrite, and --publish / --results PATH: where the results go
    besides --out (``published``, the committed file, for --publish); with ``resume`` also --resume."""
    parser.add_argument("--out", default=out, help="folder for this run's files")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out instead of refusing to")
    if resume:
        parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--publish", action="store_true",
                       help=f"also write the results to the committed {os.path.relpath(published, REPO)}")
    where.add_argument("--results", "--json", metavar="PATH", default=None, help="also write the results to PATH")
    parser.set_defaults(published=published)
    return parser


def results_target(args):
    """Where the results go besides --out: the committed file with --publish, --results PATH, or None."""
    return args.published if args.publish else args.results


def destinations(out, name, args):
    """The files a script writes its results to: ``name`` in the run folder, and the results target."""
    target = results_target(args)
    return [os.path.join(out, name)] + ([target] if target else [])


def prepare_run_folder(parser, args, argv, marker=None):
    """The folder to write into (common.runs.prepare_out on --out); UsageError in one line.

    ``marker``: the file that shows that --out holds a run of this script, for --resume and
    --overwrite (prepare_out knows training runs only, by their checkpoint.pt or metrics.json).
    """
    resume, overwrite = getattr(args, "resume", False), args.overwrite
    if marker and resume != overwrite:
        if not os.path.isfile(os.path.join(args.out, marker)):
            raise UsageError(f"--{'resume' if resume else 'overwrite'}: {args.out} holds no {marker} of a run "
                             "of this script")
        if overwrite:
            shutil.rmtree(args.out)
        return writable_folder(args.out)
    out = prepare_out(args.out, resume=resume, overwrite=overwrite, chosen="out" in explicit_options(parser, argv))
    if out != args.out:
        print(f"note: {args.out} holds another run; writing to {out}")
    return out


def subplots(*args, **kwargs):
    """matplotlib.pyplot.subplots, drawing to files only (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(*args, **kwargs)


def save_figure(fig, path, dpi=130, tight=True):
    """Lay out a matplotlib figure (``tight``), save it as a PNG atomically (a committed figure is
    complete or untouched) and close it."""
    import matplotlib.pyplot as plt
    if tight:
        fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    plt.close(fig)
    return path
