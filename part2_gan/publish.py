"""Turn a finished GAN run into the curated results the report and the notebooks cite.

    python part2_gan/publish.py --run runs/gan_mlp --name gan_mlp --data-dir ../shared/data            # a preview
    python part2_gan/publish.py --run runs/gan_mlp --name gan_mlp --data-dir ../shared/data --publish  # the report's

Writes the generator export, the sample grids and loss curves, an interpolation between two
digits, the metrics and the thinned loss history (gan/publish.py). By default into
runs/publish/NAME, to look at; with --publish into report/ (checkpoints/, figures/, results/),
replacing the committed files -- only after every input was checked and every file produced.
"""
import os

from common.cli import ArgumentParser, positive_int, run_main, setup_run
from common.paths import REPORT
from gan.publish import publish


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a training run's folder (with checkpoint.pt)")
    p.add_argument("--name", required=True, help="name of the published files, e.g. gan_mlp")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--from", dest="digit_from", type=int, choices=range(10), default=1, help="interpolation start digit")
    p.add_argument("--to", dest="digit_to", type=int, choices=range(10), default=7, help="interpolation end digit")
    p.add_argument("--max_points", type=positive_int, default=2000, help="points kept of the loss history")
    p.add_argument("--publish", action="store_true", help="write into report/ (the committed files) instead of --out")
    p.add_argument("--out", default=None, help="preview folder (default runs/publish/NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's choice, one per core)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    target = REPORT if args.publish else (args.out or os.path.join("runs", "publish", args.name))
    written = publish(args.run, args.name, target, args.data_dir, (args.digit_from, args.digit_to), device,
                      args.max_points)
    print(f"published {args.name} into {target}: " + ", ".join(os.path.relpath(p, target) for p in written))
    return written


if __name__ == "__main__":
    run_main(main)
