"""Part 2: the networks, MNIST loading, interpolation, and the scripts (train, evaluate, their errors)."""
import json
import os

import pytest
import torch

from gan import interpolation as interpolate
from gan.checkpoints import export_generator
from gan.data import load_mnist, read_idx, to_unit_range
from part2_gan import evaluate, train
from part2_gan.model import Discriminator, Generator
from tests.conftest import SHARED_MNIST, assert_one_line_error, run_script
from tests.gan_helpers import StubClassifier, make_fake_mnist, write_idx


def test_generator_shape_and_range():
    G = Generator(latent_dim=100)
    out = G(torch.randn(64, 100) * 10)  # large inputs saturate tanh, never exceed it
    assert out.shape == (64, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1


def test_batch_norm_uses_default_eps_and_momentum():
    norms = [m for m in Generator().modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert [m.num_features for m in norms] == [256, 512, 1024]
    assert all(m.eps == 1e-5 and m.momentum == 0.1 for m in norms)


def test_discriminator_returns_logits():
    D = Discriminator()
    assert isinstance(D.net[-1], torch.nn.Linear), "no sigmoid at the end"
    with torch.no_grad():
        D.net[-1].bias.fill_(5.0)
    out = D(torch.rand(8, 1, 28, 28) * 2 - 1)
    assert out.shape == (8, 1) and (out > 1).all(), "a logit, not a probability"


def test_idx_reader_on_synthetic_files(tmp_path):
    data = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8).numpy()
    for gz in (False, True):
        path = tmp_path / ("x.gz" if gz else "x")
        write_idx(path, data, gz)
        assert (read_idx(path) == data).all() and read_idx(path).shape == (5, 28, 28)
    write_idx(tmp_path / "f", torch.randn(3, 4).numpy().astype("float32"))
    assert read_idx(tmp_path / "f").shape == (3, 4)
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05" * 3 + b"\x01\x02")
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="../shared/data is not present")
def test_idx_reader_on_the_real_test_split():
    images, labels = load_mnist("test", SHARED_MNIST, download=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(images.float().mean().item() - 33.79) < 0.01
    x = to_unit_range(images[:10])
    assert x.shape == (10, 1, 28, 28) and x.min() >= -1 and x.max() <= 1


def test_missing_split_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST train split not found.*--data-dir"):
        load_mnist("train", str(tmp_path), download=False)


def test_interpolation_endpoints_and_length():
    za, zb = torch.randn(100), torch.randn(100)
    for spherical in (False, True):
        path = interpolate.interpolate(za, zb, steps=7, spherical=spherical)
        assert path.shape == (9, 100)
        assert torch.allclose(path[0], za, atol=1e-5) and torch.allclose(path[-1], zb, atol=1e-5)
    lin = interpolate.interpolate(za, zb, steps=7)
    assert torch.allclose(lin[4], (za + zb) / 2, atol=1e-6)
    # slerp between vectors of equal norm keeps the norm
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert all(abs(interpolate.slerp(a, b, t).norm().item() - 1) < 1e-6 for t in torch.linspace(0, 1, 5))


class _BrightnessGenerator(torch.nn.Module):
    """z[0] sets the brightness of a flat image: a generator whose classes are known."""
    latent_dim = 4

    def forward(self, z):
        return torch.tanh(z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


def test_interpolation_row_goes_between_the_chosen_classes():
    G, clf = _BrightnessGenerator(), StubClassifier()
    images, labels, confs = interpolate.interpolation_row(G, clf, 1, 8, steps=7, candidates=500)
    assert images.shape == (9, 1, 28, 28)
    assert labels[0] == 1 and labels[-1] == 8 and len(confs) == 9
    z_a, z_b = interpolate.find_endpoints(G, clf, 1, 8, candidates=500)
    assert torch.equal(images[0], G(z_a.unsqueeze(0))[0]) and torch.equal(images[-1], G(z_b.unsqueeze(0))[0])
    with pytest.raises(ValueError, match="choose two different digits"):
        interpolate.find_endpoints(G, clf, 3, 3)


def test_pairs_of_digits_linear_and_spherical(tmp_path):
    G, clf = _BrightnessGenerator(), StubClassifier()
    rows = interpolate.pair_rows(G, clf, [(1, 8), (2, 6)], steps=7, candidates=500)
    assert [(r["from"], r["to"], r["interpolation"]) for r in rows] == [
        (1, 8, "linear"), (1, 8, "spherical"), (2, 6, "linear"), (2, 6, "spherical")]
    for r in rows:
        assert r["images"].shape == (9, 1, 28, 28) and r["predicted"][0] == r["from"] and r["predicted"][-1] == r["to"]
    assert torch.equal(rows[0]["images"][0], rows[1]["images"][0]), "both kinds start at the same end point"
    assert not torch.equal(rows[0]["images"][4], rows[1]["images"][4]), "and take different paths"
    path = interpolate.plot_pairs(rows, str(tmp_path / "pairs.png"), "title")
    assert (tmp_path / "pairs.png").stat().st_size > 0 and path == str(tmp_path / "pairs.png")


def test_snapshots_and_history_files(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=256)
    metrics = train.main(["--data-dir", root, "--epochs", "2", "--no_eval", "--quiet", "--latent_dim", "8",
                          "--out", str(tmp_path / "run"), "--device", "cpu"])
    run = tmp_path / "run"
    for name in ("samples_start.png", "samples_halfway.png", "samples_end.png", "losses.png", "checkpoint.pt"):
        assert (run / name).stat().st_size > 0, name
    history = json.loads((run / "history.json").read_text())
    assert set(history) == {"step", "d_loss", "g_loss", "d_real", "d_fake"}
    assert len(history["step"]) == 8 and all(0 < v < 1 for v in history["d_real"] + history["d_fake"])
    assert metrics["split"] == "train" and metrics["epochs"] == 2
    assert json.loads((run / "metrics.json").read_text())["train_images"] == 256
    # --resume with more epochs continues where it stopped, with the run's own settings (latent_dim 8).
    more = train.main(["--data-dir", root, "--epochs", "3", "--out", str(run), "--resume"])
    assert more["epochs"] == 3 and more["generator_steps"] == 12 and more["config"]["latent_dim"] == 8
    assert len(json.loads((run / "history.json").read_text())["step"]) == 12, "the whole history, not the last part"


def test_evaluate_writes_the_published_keys_with_the_training_config(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=128, split="test")
    run = tmp_path / "run"
    train.main(["--data-dir", root, "--split", "test", "--no_eval", "--quiet", "--epochs", "1", "--batch_size", "32",
                "--ema", "0.9", "--out", str(run), "--device", "cpu"])
    export = export_generator(str(run / "checkpoint.pt"), str(tmp_path / "g.pt"))
    result = evaluate.main(["--checkpoint", export, "--data-dir", root, "--n_samples", "128",
                            "--results", str(tmp_path / "r.json"), "--out", str(tmp_path / "e"), "--device", "cpu"])
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert set(on_disk) >= {"inception_score", "fid", "classes_covered", "kl_uniform", "split", "epochs", "real"}
    assert on_disk["split"] == "test" and on_disk["epochs"] == 1 and on_disk["n_samples"] == 128
    assert on_disk["generator_steps"] == 4 and on_disk["evaluated_against"] == "test"
    assert on_disk["config"]["ema"] == 0.9 and on_disk["config"]["batch_size"] == 32
    assert set(on_disk["real"]) >= {"inception_score", "fid", "classes_covered", "kl_uniform"}


@pytest.mark.slow
@pytest.mark.parametrize("script, args, fragment", [
    ("part2_gan/train.py", ["--batch_size", "0"], "--batch_size"),
    ("part2_gan/train.py", ["--lr", "-1"], "--lr"),
    ("part2_gan/train.py", ["--split", "valid"], "--split"),
    ("part2_gan/train.py", ["--data-dir", "{tmp}/empty", "--epochs", "1"], "MNIST train split not found"),
    ("part2_gan/train.py", ["--data-dir", "{tmp}/empty", "--resume"], "no checkpoint.pt"),
    ("part2_gan/evaluate.py", ["--checkpoint", "{tmp}/nothing.pt"], "checkpoint not found"),
    ("part2_gan/evaluate.py", ["--checkpoint", "{tmp}/corrupt.pt"], "corrupt"),
    ("part2_gan/interpolate.py", ["--checkpoint", "{tmp}/corrupt.pt"], "corrupt"),
    ("part2_gan/interpolate.py", ["--checkpoint", "{tmp}/part1.pt"], "expected"),
    ("part2_gan/interpolate.py", ["--checkpoint", "x.pt", "--from", "11"], "--from"),
])
def test_bad_input_gives_one_line(tmp_path, script, args, fragment):
    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x02garbage")
    torch.save({"kind": "part1_lstm/palindrome"}, tmp_path / "part1.pt")
    result = run_script(script, *[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", tmp_path / "o")
    assert_one_line_error(result, fragment)


def test_loss_plot_starts_the_discriminator_axis_at_zero_and_labels_a_critic():
    import matplotlib
    matplotlib.use("Agg")
    from gan.samples import plot_history
    n = 400
    probabilities = {"step": list(range(1, n + 1)), "d_loss": [1.3] * n, "g_loss": [0.8] * n,
                     "d_real": [0.6] * n, "d_fake": [0.4] * n}
    fig = plot_history(probabilities, title="t")
    ax1, ax2 = fig.axes
    assert ax2.get_ylim() == (0, 1) and ax2.get_ylabel() == "mean discriminator output"
    assert "moving average over 2 steps" in fig._suptitle.get_text()
    assert len(ax1.lines) == 4, "each loss drawn raw (faint) and averaged"
    critic = probabilities | {"d_real": [3.0] * n, "d_fake": [-2.0] * n}
    assert plot_history(critic, title="t").axes[1].get_ylabel() == "mean critic score"
