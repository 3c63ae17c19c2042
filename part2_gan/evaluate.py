"""Evaluate a trained generator with the MNIST classifier: Inception Score, FID, class coverage.

    python part2_gan/evaluate.py --checkpoint report/checkpoints/gan_mlp_generator.pt --data-dir ../shared/data

Prints a table of the generator's metrics beside those of real images, and writes them as
JSON to --out/evaluation.json (default runs/evaluate), and to --results PATH when given.
"""
import os

from common.cli import ArgumentParser, run_main, write_json
from common.config import add_config_args, config_from_args
from gan.evaluation import EvalConfig, evaluate, format_table


def main(argv=None):
    parser = add_config_args(ArgumentParser(description=__doc__.splitlines()[0]), EvalConfig)
    config = config_from_args(EvalConfig, parser.parse_args(argv))
    result = evaluate(config)
    print(format_table(result))
    paths = [os.path.join(config.out, "evaluation.json")] + ([config.results] if config.results else [])
    for path in paths:
        write_json(path, result)
    print(f"wrote {' and '.join(paths)}")
    return result


if __name__ == "__main__":
    run_main(main)
