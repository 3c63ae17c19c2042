"""Part 1: an interrupted or extended run continues to exactly the weights of an uninterrupted one."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from part1_lstm import train
from tests.conftest import REPO
from tests.test_part1_training import keep_torch_threads  # noqa: F401 (an autouse fixture)

SMALL = ["--num_hidden", "16", "--threads", "1", "--quiet"]



def assert_same_run(a, b):
    """Two run folders hold the same training: checkpoints equal to the bit, metrics.json equal
    (but for the seconds it took and where it was written)."""
    ca, cb = (torch.load(os.path.join(d, "checkpoint.pt"), weights_only=True) for d in (a, b))
    assert ca["model"].keys() == cb["model"].keys()
    for name in ca["model"]:
        assert torch.equal(ca["model"][name], cb["model"][name]), name
    for i, state in ca["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(value, cb["optimizer"]["state"][i][key]), (i, key)
    assert torch.equal(ca["rng"]["cpu"], cb["rng"]["cpu"]), "the next epoch would draw another order"
    assert [ca[k] for k in ("step", "epoch", "position", "history")] == [cb[k] for k in ("step", "epoch", "position",
                                                                                           "history")]
    assert (ca["perm"] is None and cb["perm"] is None) or torch.equal(ca["perm"], cb["perm"])
    ma, mb = (json.loads(open(os.path.join(d, "metrics.json")).read()) for d in (a, b))
    for k in ("val_accuracy", "train_accuracy", "steps", "epochs", "history"):
        assert ma[k] == mb[k], k


# 800 training palindromes (T = 5): 27 batches of 30 an epoch, so that 200 stops mid-epoch (and
# the unfinished 15th epoch counts); 25 batches of 32, so that 200 stops at an epoch's end.
@pytest.mark.parametrize("batch, epochs", [(30, 15), (32, 16)])
def test_200_steps_then_resumed_to_400_equal_400_straight(tmp_path, batch, epochs):
    argv = SMALL + ["--batch_size", str(batch)]
    first = train.main(argv + ["--max_steps", "200", "--out", str(tmp_path / "resumed")])
    assert first["steps"] == 200
    resumed = train.main(argv + ["--max_steps", "400", "--out", str(tmp_path / "resumed"), "--resume"])
    straight = train.main(argv + ["--max_steps", "400", "--out", str(tmp_path / "straight")])
    assert_same_run(tmp_path / "resumed", tmp_path / "straight")
    assert resumed["history"]["step"][:20] == list(range(10, 201, 10)), "the whole history, not only the second half"
    assert resumed["history"]["epoch"] == list(range(1, epochs + 1)) and straight["epochs"] == epochs


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    # Steps of about 3 ms and a checkpoint every 25: the kill lands more than a second before the end.
    argv = ["--input_length", "9", "--one_hot", "--data_size", "2000", "--num_hidden", "16", "--max_steps", "600",
            "--checkpoint_every", "25", "--threads", "1", "--quiet"]
    killed = tmp_path / "killed"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "part1_lstm", "train.py"), *argv, "--out", str(killed)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None, f"the run ended before its first checkpoint: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = torch.load(killed / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < at_kill < 600 and not (killed / "metrics.json").exists(), "killed mid-run"
    train.main(argv + ["--out", str(killed), "--resume"])
    train.main(argv + ["--out", str(tmp_path / "straight")])
    assert_same_run(killed, tmp_path / "straight")
