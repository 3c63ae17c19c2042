"""Interpolate in latent space between two digits of different classes (gan/interpolation.py).

    python part2_gan/interpolate.py --checkpoint report/checkpoints/gan_mlp_generator.pt --from 1 --to 7
    python part2_gan/interpolate.py --checkpoint report/checkpoints/gan_mlp_generator.pt --pairs 0-6 1-7 3-8 4-9

The end points are the latents the evaluation classifier most confidently calls each digit;
--steps points lie between them (7 by default: 9 images), each labelled with the classifier's
digit and confidence. Linear by default; --spherical follows the great circle. Writes
interpolation_FROM_to_TO_KIND.{png,json} to --out (default runs/interpolation); with --pairs, one
figure of every pair, linear and spherical between the same end points (interpolation_pairs.*).
"""
import argparse
import os

from common.cli import ArgumentParser, add_common_args, positive_int, run_main, setup_run, write_json
from common.paths import repo_relative
from gan.checkpoints import load_generator
from gan.classifier import load_classifier
from gan.interpolation import DIGITS, PAIRS_TITLE, interpolation_row, pair_rows, pairs_record, plot_pairs, plot_row

IMAGE_FAMILIES = ("mlp.", "dcgan.")


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="a training checkpoint or a generator export")
    p.add_argument("--from", dest="digit_from", type=int, choices=DIGITS, default=1, help="digit at the start")
    p.add_argument("--to", dest="digit_to", type=int, choices=DIGITS, default=7, help="digit at the end")
    p.add_argument("--steps", type=positive_int, default=7, help="interpolation steps between the end points")
    p.add_argument("--spherical", action="store_true", help="spherical (slerp) instead of linear interpolation")
    p.add_argument("--pairs", nargs="+", type=digit_pair, default=None, metavar="A-B",
                   help="several pairs of different digits (e.g. 0-6 1-7): one figure, linear and spherical rows")
    p.add_argument("--candidates", type=positive_int, default=2000, help="random latents searched for the end points")
    p.add_argument("--classifier", default=None, help="evaluation classifier (default: the committed one)")
    add_common_args(p, out="runs/interpolation")
    return p


def digit_pair(text):
    """argparse type: 'A-B' with two different digits."""
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 1 for p in parts) or parts[0] == parts[1]:
        raise argparse.ArgumentTypeError(f"{text!r} is not two different digits A-B, e.g. 1-7")
    return int(parts[0]), int(parts[1])


def main_pairs(args, G, classifier, device):
    rows = pair_rows(G, classifier, args.pairs, args.steps, args.candidates, args.seed, device)
    png = plot_pairs(rows, os.path.join(args.out, "interpolation_pairs.png"), PAIRS_TITLE.format(steps=args.steps))
    write_json(os.path.join(args.out, "interpolation_pairs.json"),
               pairs_record(rows, args.steps, repo_relative(args.checkpoint)))
    for r in rows:
        print(f"{r['from']} to {r['to']}, {r['interpolation']}: {r['predicted']}")
    print(f"wrote {png} and interpolation_pairs.json in {args.out}")
    return rows


def main(argv=None):
    args = build_parser().parse_args(argv)
    device = setup_run(args)
    G, _ = load_generator(args.checkpoint, device, family=IMAGE_FAMILIES)
    classifier, _ = load_classifier(args.classifier, device)
    if args.pairs:
        return main_pairs(args, G, classifier, device)
    images, labels, confs = interpolation_row(G, classifier, args.digit_from, args.digit_to, args.steps,
                                              args.spherical, args.candidates, args.seed, device)
    kind = "spherical" if args.spherical else "linear"
    name = f"interpolation_{args.digit_from}_to_{args.digit_to}_{kind}"
    png = os.path.join(args.out, name + ".png")
    plot_row(images, labels, confs, png, title=f"{kind} interpolation, {args.steps} steps: "
                                               f"{args.digit_from} to {args.digit_to} (classifier's digit and confidence)")
    write_json(os.path.join(args.out, name + ".json"),
               {"from": args.digit_from, "to": args.digit_to, "steps": args.steps, "interpolation": kind,
                "predicted": labels, "confidence": confs, "checkpoint": repo_relative(args.checkpoint)})
    print(f"predicted digits along the path: {labels}")
    print(f"wrote {png} and {name}.json in {args.out}")
    return labels, confs


if __name__ == "__main__":
    run_main(main)
