"""Turn a finished GAN run into the curated results the report and the notebooks cite.

    python part2_gan/publish.py --run runs/gan_mlp --name gan_mlp --data-dir ../shared/data

From RUN (a train.py output folder) it writes:
  report/checkpoints/NAME_generator.pt    the generator alone, float16 (a few MB, committed)
  report/figures/NAME_samples_{start,halfway,end}.png, NAME_losses.png
  report/figures/NAME_interpolation.png   9 images between two digits (interpolate.py)
  report/results/NAME.json                the metrics of evaluate.py, computed from the export
  report/results/NAME_history.json        the loss history, thinned to at most 2,000 points
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # noqa: E402
import torch

from common.cli import ArgumentParser, UsageError, positive_int, run_main, write_json
from part2_gan import evaluate, interpolate
from part2_gan.checkpoints import export_generator
from part2_gan.trainer import read_history

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a train.py output folder (with checkpoint.pt)")
    p.add_argument("--name", required=True, help="name of the published files, e.g. gan_mlp")
    p.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    p.add_argument("--from", dest="digit_from", type=int, default=1, help="interpolation start digit")
    p.add_argument("--to", dest="digit_to", type=int, default=7, help="interpolation end digit")
    p.add_argument("--max_points", type=positive_int, default=2000, help="points kept of the loss history")
    p.add_argument("--report", default=os.path.join(REPO, "report"), help="report folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch")
    return p


def thin(history, max_points):
    n = len(history["step"])
    stride = max(1, -(-n // max_points))
    return {k: v[::stride] for k, v in history.items()} | {"stride": stride}


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = os.path.join(args.run, "checkpoint.pt")
    if not os.path.isfile(checkpoint):
        raise UsageError(f"no checkpoint.pt in {args.run}: train first")
    figures, results, ckpts = (os.path.join(args.report, d) for d in ("figures", "results", "checkpoints"))
    for d in (figures, results, ckpts):
        os.makedirs(d, exist_ok=True)
    export = export_generator(checkpoint, os.path.join(ckpts, f"{args.name}_generator.pt"))
    for tag in ("start", "halfway", "end"):
        shutil.copyfile(os.path.join(args.run, f"samples_{tag}.png"), os.path.join(figures, f"{args.name}_samples_{tag}.png"))
    shutil.copyfile(os.path.join(args.run, "losses.png"), os.path.join(figures, f"{args.name}_losses.png"))
    write_json(os.path.join(results, f"{args.name}_history.json"), thin(read_history(args.run), args.max_points))
    common = (["--data-dir", args.data_dir] if args.data_dir else []) + ["--device", args.device]
    evaluate.main(["--checkpoint", export, "--results", os.path.join(results, f"{args.name}.json"),
                   "--out", os.path.join(args.run, "evaluation")] + common)
    interp_dir = os.path.join(args.run, "interpolation")
    interpolate.main(["--checkpoint", export, "--from", str(args.digit_from), "--to", str(args.digit_to),
                      "--out", interp_dir, "--device", args.device])
    name = f"interpolation_{args.digit_from}_to_{args.digit_to}_linear"
    shutil.copyfile(os.path.join(interp_dir, name + ".png"), os.path.join(figures, f"{args.name}_interpolation.png"))
    print(f"published {args.name}: {export}, figures/{args.name}_*.png, results/{args.name}.json")


if __name__ == "__main__":
    run_main(main)
