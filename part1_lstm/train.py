"""Train the hand-written LSTM or the vanilla RNN on the palindrome task, with RMSProp.

    python part1_lstm/train.py                      # LSTM, T = 5 (input_length 4)
    python part1_lstm/train.py --model rnn --input_length 9 --one_hot
    python part1_lstm/train.py --out runs/a --resume --max_steps 5000   # continue the run in runs/a

The options are the fields of training.py's TrainConfig. Writes checkpoint.pt (during training,
so that --resume continues exactly), metrics.json and curves.png to --out; an --out that holds
another run is refused unless --resume (continue it) or --overwrite.
"""
import dataclasses

from common.checkpoint import load_checkpoint
from common.cli import ArgumentParser, add_resume_args, pick_device, run_main
from common.config import add_config_args, config_from_args, explicit_options
from common.outputs import prepare_run_folder
from common.runs import resumed_config
from part1_lstm.training import CHECKPOINT_KIND, RESUMABLE, TrainConfig, check_config, checkpoint_path, config_in, train


def build_parser():
    p = ArgumentParser(description=__doc__.splitlines()[0])
    add_config_args(p, TrainConfig)
    add_resume_args(p, quiet=False)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    config, explicit = config_from_args(TrainConfig, args), explicit_options(parser, argv)
    check_config(config)
    pick_device(config.device)  # before prepare_out makes a folder for a run that cannot start
    out = prepare_run_folder(parser, args, argv)
    if args.resume:
        path = checkpoint_path(out)
        config = resumed_config(config_in(load_checkpoint(path, CHECKPOINT_KIND), path), config, explicit,
                                RESUMABLE, where=path)
    metrics = train(dataclasses.replace(config, out=out), resume=args.resume)
    print(f"{config.model} T={config.input_length + 1}: validation accuracy {metrics['val_accuracy']:.4f} "
          f"after {metrics['steps']} steps ({metrics['seconds']:.1f} s)")
    print(f"wrote metrics.json, curves.png and checkpoint.pt in {out}")
    return metrics


if __name__ == "__main__":
    run_main(main)
