"""The report and the README cannot drift from report/results: every marked number is recomputed."""
import json

import pytest

from report import build, tables, tables_mode_collapse


def test_render_fills_values_and_tables(tmp_path):
    results = {"gan_mlp": {"fid": 1.23456, "epochs": 200, "training_seconds": 1500.0, "deep": {"list": [3, 4]}}}
    text = ("FID <!--v gan_mlp.fid:.2f-->old<!--/v-->, <!--v gan_mlp.epochs-->?<!--/v--> epochs, "
            "<!--v gan_mlp.training_seconds:.0fmin-->?<!--/v--> min, <!--v gan_mlp.deep.list.1-->?<!--/v-->")
    out = build.render(text, results)
    assert out == ("FID <!--v gan_mlp.fid:.2f-->1.23<!--/v-->, <!--v gan_mlp.epochs-->200<!--/v--> epochs, "
                   "<!--v gan_mlp.training_seconds:.0fmin-->25<!--/v--> min, <!--v gan_mlp.deep.list.1-->4<!--/v-->")
    assert build.render(out, results) == out, "rendering is idempotent"


def test_unknown_value_or_table_is_an_error():
    with pytest.raises(ValueError, match="no value 'gan_mlp.nope'"):
        build.render("<!--v gan_mlp.nope-->x<!--/v-->", {"gan_mlp": {}})
    with pytest.raises(ValueError, match="no table named 'nope'"):
        build.render("<!--table nope--><!--/table-->", {})


def test_check_reports_a_stale_number(tmp_path):
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    (results_dir / "x.json").write_text(json.dumps({"a": 0.5}))
    doc = tmp_path / "doc.md"
    doc.write_text("value <!--v x.a:.1%-->50.0%<!--/v-->\n")
    assert build.build(check=True, documents=[str(doc)], results_folder=str(results_dir)) == []
    (results_dir / "x.json").write_text(json.dumps({"a": 0.25}))
    stale = build.build(check=True, documents=[str(doc)], results_folder=str(results_dir))
    assert stale == [(str(doc), [1])]
    assert "50.0%" in doc.read_text(), "--check changes nothing"
    build.build(documents=[str(doc)], results_folder=str(results_dir))
    assert "25.0%" in doc.read_text()


def test_palindrome_summary_and_table():
    from report import tables
    records = [{"model": m, "T": T, "seed": s, "val_accuracy": acc, "seconds": 1.0}
               for m, T, s, acc in [("lstm", 5, 0, 1.0), ("lstm", 5, 1, 0.99), ("rnn", 5, 0, 0.5), ("rnn", 5, 1, 0.7)]]
    pal = tables.summaries({"palindrome_sweep": records})["palindrome"]
    assert pal["lstm"]["5"] == {"mean": pytest.approx(0.995), "min": 0.99, "max": 1.0, "n": 2}
    assert pal["rnn_min"] == 0.5 and pal["seconds_total"] == 4.0
    table = tables.table_palindrome({"palindrome": pal})
    assert "| LSTM | 99.5% (99%–100%) |" in table and "| RNN | 60.0% (50%–70%) |" in table


def test_history_means_skip_the_first_steps():
    history = {"step": [0, 1_000, 2_000, 3_000], "d_real": [0.9, 0.8, 0.6, 0.5], "d_fake": [0.1, 0.2, 0.4, 0.3]}
    means = tables.summaries({"dcgan_history": history})["dcgan_history_means"]
    assert means == {"d_real": pytest.approx(0.55), "d_fake": pytest.approx(0.35)}
    assert "gan_mlp_history_means" not in tables.summaries({"dcgan_history": history})


def test_committed_report_and_readme_agree_with_the_results():
    stale = build.build(check=True)
    assert stale == [], f"run python report/build.py: stale places {stale}"


def test_gan_table_shows_a_measure_only_where_a_model_has_it_and_tuning_tables_split_by_training_split():
    base = {"inception_score": 9.0, "fid": 1.0, "classes_covered": 10, "kl_uniform": 0.01}
    gan = base | {"memorisation": {"memorised": 0.015}, "precision": 0.9}
    real = base | {"memorisation": {"held_out_memorised": 0.01}}
    table = tables._gan_rows([("GAN", gan), ("real", real)])
    assert "| memorised (closer to a training image than 99% of test images are) | 1.50% | 1.00% |" in table
    assert "| precision (k = 3) | 0.900 |  |" in table and "KID" not in table
    row = {"name": "a", "settings": {"lr": 1e-4, "epochs": 2}, "inception_score": 5.0, "fid": 2.0,
           "classes_covered": 10, "kl_uniform": 0.1, "seconds_per_epoch": 1.0, "seed": 1}
    t = {"runs": [row | {"split": "train", "memorisation": {"memorised": 0.0}}, row | {"name": "b", "split": "test"}]}
    train, test = tables._tuning_table(t, "train"), tables._tuning_table(t, "test")
    assert "| a |" in train and "| b |" not in train and "memorised" in train and "0.00%" in train
    assert "| b |" in test and "| a |" not in test and "memorised" not in test


def _record_2d(method, dataset, seed, modes, setting=None, steps=2000):
    r = {"method": method, "dataset": dataset, "seed": seed, "modes": modes, "high_quality": 0.5, "kl": 0.1,
         "seconds": 10.0, "generator_steps": steps, "n_samples": 2500, "threshold": 20,
         "config": {"batch_size": 100}}
    if setting:
        r["setting"] = setting
    return r


def test_2d_tables_and_means_keep_the_settings_apart():
    records = [_record_2d("gan", "ring", 0, 1), _record_2d("gan", "ring", 1, 3),  # ours (no setting: older records)
               _record_2d("gan", "ring", 0, 8, "paper"), _record_2d("pac2", "grid", 0, 25, "paper", steps=4000)]
    results = {"mode_collapse_2d": records}
    s = tables.summaries(results)
    assert s["mode_collapse"]["ring"]["gan"]["modes"] == 2.0  # the paper's 8 modes not averaged in
    assert s["mode_collapse_paper"]["ring"]["gan"]["modes"] == 8.0
    assert "grid" not in s["mode_collapse"]
    ours, paper = tables_mode_collapse.table_mode_collapse_2d(results), tables_mode_collapse.table_mode_collapse_2d_paper(results)
    assert "| gan | 2.0 (1–3) |" in ours and "pac2" not in ours
    assert "| gan | 8.0 |" in paper and "| pac2 |" in paper and "published: Unrolled GAN" in paper
    assert "every method alike" in ours and "ring: 2,000 generator steps; grid: 4,000" in paper
    uneven = {"mode_collapse_2d": records[:1] + [_record_2d("wgan", "ring", 0, 0, steps=1000)]}
    assert "not equal across methods" in tables_mode_collapse.table_mode_collapse_2d(uneven)
    assert "no run of the papers' setting" in tables_mode_collapse.table_mode_collapse_2d_paper(uneven)


def test_stacked_mnist_table_lists_every_run_with_its_time_beside_the_published_rows():
    from mode_collapse.stacked_results import results as stacked_results
    from mode_collapse.train_stacked import stacked_config
    import dataclasses

    def run(method, modes, kl, seconds):
        config = dataclasses.asdict(stacked_config(method))
        histogram = [0] * 1000
        histogram[345], histogram[9] = 3, 1  # digits 3, 4, 5 three times; 0, 0, 9 once
        return {"method": method, "seed": 0, "modes": modes, "kl": kl, "training_seconds": seconds, "histogram": histogram,
                "generator_steps": config["steps"], "hardware": "CPU: test, 1 torch thread", "config": config,
                "confident": 0.5, "modes_confident": modes // 2}
    data = stacked_results([run("wgan_gp", 640, 0.91, 1200.0), run("dcgan", 883, 1.156, 240.0)],
                           real={"n_samples": 26000, "modes": 1000, "kl": 0.0196, "confident": 0.97, "modes_confident": 1000,
                                 "read_right": 0.988})
    results = {"stacked_mnist": data}
    table = tables_mode_collapse.table_stacked_mnist(results)
    lines = table.splitlines()
    assert lines[2].startswith("| DCGAN | 0 | 883 | 1.16 | 50% | 441 | 3 (75%) / 4 (75%) / 5 (75%) | 4.0 min | 0.100 |")  # DCGAN first, whatever the file's order
    assert lines[3].startswith("| WGAN-GP | 0 | 640 | 0.91 | 50% | 320 | 3 (75%) / 4 (75%) / 5 (75%) | 20.0 min | 0.500 |")
    assert "| 26,000 real training stacks | | 1,000 | 0.02 | 97% | 1,000 | | | |" in table and "read right" in table
    assert "| *published: PacDCGAN2* | | 1000 | 0.06 | | | | | |" in table and "26,000 samples" in table
    assert tables.summaries(results)["stacked"]["dcgan"]["modes"] == 883


def test_tuning_table_shows_the_chosen_rates_and_every_candidate():
    candidates = [{"lr": 1e-4, "lr_g": 1e-3, "factor": 1.0, "modes": 2.0, "high_quality": 0.1},
                  {"lr": 3e-4, "lr_g": 3e-3, "factor": 3.0, "modes": 7.5, "high_quality": 0.4}]
    chosen = {**candidates[1], "steps": 2000, "batch_size": 256, "seeds": [100, 101], "candidates": candidates}
    results = {"mode_collapse_2d_tuning": {"criterion": "the most modes", "seeds": [100, 101],
                                           "chosen": {"ours": {"ring": {"pac2": chosen, "unrolled10": {
                                               **chosen, "rates_of": "unrolled5", "candidates": []}}}}}}
    table = tables_mode_collapse.table_mode_collapse_2d_tuning(results)
    assert "| ring | unrolled10 | 0.0003 / 0.003 | 7.5 | 40.0% | not tuned: unrolled5's rates |" in table
    assert "| ring | pac2 | 0.0003 / 0.003 | 7.5 | 40.0% | ×1 → 2.0, ×3 → 7.5 |" in table
    assert "Seeds 100, 101 (never reported)" in table
