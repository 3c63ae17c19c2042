"""Tables and summaries of the results files, for report/build.py.

summaries(results) adds derived entries (means over seeds, ...) that markers can name;
each table_NAME(results) returns a Markdown table for a <!--table NAME--> marker (those of section 4,
mode collapse, are in tables_mode_collapse.py).
"""

from report.tables_mode_collapse import _mode_collapse_means, _of_setting


def _mean(values):
    return sum(values) / len(values)


HISTORY_FROM = 2_000  # generator step from which the published runs' D outputs are averaged


def summaries(results):
    out = {}
    sweep = results.get("palindrome_sweep")
    if sweep:
        by = {}
        for r in sweep:
            by.setdefault(r["model"], {}).setdefault(r["T"], []).append(r["val_accuracy"])
        pal = {m: {str(T): {"mean": _mean(v), "min": min(v), "max": max(v), "n": len(v)} for T, v in sorted(d.items())}
               for m, d in by.items()}
        for m, d in by.items():
            pal[f"{m}_min"] = min(min(v) for v in d.values())
            pal[f"{m}_max_T"] = max(d)
            pal[f"{m}_runs"] = sum(len(v) for v in d.values())
            pal[f"{m}_solved"] = sum(a >= 0.99 for v in d.values() for a in v)
            pal[f"{m}_failed"] = [{"T": r["T"], "seed": r["seed"], "val_accuracy": r["val_accuracy"]} for r in sweep
                                  if r["model"] == m and r["val_accuracy"] < 0.99]
        pal["seconds_total"] = sum(r["seconds"] for r in sweep)
        out["palindrome"] = pal
    flow = results.get("gradient_flow")
    if flow:  # ||dL/dh(1)|| / ||dL/dh(T-1)||, and the mean factor per step back over the whole span
        out["gradient_flow_ratio"] = {
            name: {key: {"first_over_last": m[key][0] / m[key][-1],
                         "per_step": (m[key][0] / m[key][-1]) ** (1 / (len(m[key]) - 1))}
                   for key in ("at_init", "trained")} for name, m in flow["models"].items()}
    if results.get("dcgan_speed"):  # names without spaces, for markers
        g = results["dcgan_speed"]["gans"]
        out["dcgan_speed_by"] = {"dcgan": g["DCGAN"], "mlp": g["MLP GAN"]}
    for setting, key in (("ours", "mode_collapse"), ("paper", "mode_collapse_paper")):  # 2D means, per setting
        records = _of_setting(results.get("mode_collapse_2d") or [], setting)
        if records:
            out[key] = _mode_collapse_means(records)
    for name, key in (("stacked_mnist", "stacked"), ("stacked_mnist_long", "stacked_long")):  # by method, for markers
        if results.get(name):  # (the first seed of each)
            runs = sorted(results[name]["runs"], key=lambda r: r["seed"], reverse=True)
            out[key] = {r["method"]: r for r in runs}
    for name in ("gan_mlp_tuning", "dcgan_tuning"):  # rows by name, for markers (the list's order moves on merges)
        if results.get(name):
            out[name.replace("_tuning", "_runs")] = {r["name"]: r for r in results[name]["runs"]}
    for name in ("gan_mlp", "dcgan"):  # D's mean outputs once past the first steps (HISTORY_FROM on)
        history = results.get(f"{name}_history")
        if history:
            kept = [i for i, step in enumerate(history["step"]) if step >= HISTORY_FROM]
            out[f"{name}_history_means"] = {k: _mean([history[k][i] for i in kept]) for k in ("d_real", "d_fake")}
    out["parameters"] = parameter_counts()
    return out


def table_palindrome(results):
    pal = results["palindrome"]
    lengths = sorted({int(T) for m in ("lstm", "rnn") for T in pal.get(m, {})})
    head = "| T | " + " | ".join(str(T) for T in lengths) + " |\n|---|" + "---:|" * len(lengths)
    rows = []
    for m in ("lstm", "rnn"):
        cells = []
        for T in lengths:
            s = pal[m].get(str(T))
            if s is None:
                cells.append("")
                continue
            fmt = "{:.0%}" if f"{s['min']:.0%}" != f"{s['max']:.0%}" else "{:.2%}"  # enough digits to differ
            spread = "" if s["min"] == s["max"] else f" ({fmt.format(s['min'])}–{fmt.format(s['max'])})"
            cells.append(f"{s['mean']:.1%}" + spread)
        rows.append(f"| {m.upper()} | " + " | ".join(cells) + " |")
    return (head + "\n" + "\n".join(rows) + "\n\nValidation accuracy, mean over seeds (lowest–highest seed where they differ).")


def _memorised(m):
    """The fraction of samples closer to a training image than the threshold (real images: the held-out ones)."""
    mem = m.get("memorisation")
    return None if mem is None else mem.get("memorised", mem.get("held_out_memorised"))


GAN_ROWS = [("Inception Score (classifier)", lambda m: m["inception_score"], "{:.2f}"),
            ("FID (classifier features)", lambda m: m["fid"], "{:.3f}"),
            ("KID (classifier features)", lambda m: m.get("kid"), "{:.4f}"),
            ("precision (k = 3)", lambda m: m.get("precision"), "{:.3f}"),
            ("recall (k = 3)", lambda m: m.get("recall"), "{:.3f}"),
            ("classes covered (≥ 1% of samples)", lambda m: m["classes_covered"], "{:d}"),
            ("KL(class histogram ‖ uniform)", lambda m: m["kl_uniform"], "{:.4f}"),
            ("memorised (closer to a training image than 99% of test images are)", _memorised, "{:.2%}")]


def _gan_rows(models):
    head = "| metric | " + " | ".join(name for name, _ in models) + " |\n|---|" + "---:|" * len(models)
    body = [f"| {label} | " + " | ".join("" if get(m) is None else fmt.format(get(m)) for _, m in models) + " |"
            for label, get, fmt in GAN_ROWS if any(get(m) is not None for _, m in models)]
    return head + "\n" + "\n".join(body)


def table_gan(results):
    models = [("MLP GAN", results["gan_mlp"])]
    if "dcgan" in results:
        models.append(("DCGAN", results["dcgan"]))
    models.append(("real MNIST", results["gan_mlp"]["real"]))
    first = results["gan_mlp"]
    return (_gan_rows(models) + f"\n\n{first['n_samples']:,} generated images per model; FID on "
            f"{first['fid_samples']:,} generated against {first['fid_samples']:,} real images (real: two disjoint "
            f"halves of the {first['evaluated_against']} split). Trained on the MNIST {first['split']} split.")


def parameter_counts():
    """Parameter counts of the networks as the code builds them (for the report's model tables)."""
    from part1_lstm.lstm import LSTM
    from part1_lstm.vanilla_rnn import VanillaRNN
    from gan.checkpoints import count_parameters
    from part2_gan.model import Discriminator, Generator
    from dcgan import model as dcgan
    from dcgan.config import DCGANConfig as C
    return {"lstm_onehot_128": count_parameters(LSTM(10, 10, 128, 10)),
            "rnn_onehot_128": count_parameters(VanillaRNN(10, 10, 128, 10)),
            "gan_generator": count_parameters(Generator(100)),
            "gan_discriminator": count_parameters(Discriminator()),
            "dcgan_generator": count_parameters(dcgan.Generator(C.latent_dim, C.ngf, extra=C.g_extra)),
            "dcgan_discriminator": count_parameters(dcgan.Discriminator(C.ndf, extra=C.d_extra))}


def table_gradient_flow(results):
    flow = results["gradient_flow"]
    rows = ["| network | when | ‖∂L/∂h(1)‖ | ‖∂L/∂h(T−1)‖ | ratio first/last | validation accuracy |",
            "|---|---|---:|---:|---:|---:|"]
    for name in ("rnn", "lstm"):
        m = flow["models"][name]
        for key, when in (("at_init", "initialisation"), ("trained", "after training")):
            v = m[key]
            acc = f"{m['val_accuracy']:.1%}" if key == "trained" and "val_accuracy" in m else ""
            rows.append(f"| {name.upper()} | {when} | {v[0]:.2e} | {v[-1]:.2e} | {v[0] / v[-1]:.2e} | {acc} |")
    return "\n".join(rows) + f"\n\nT = {flow['T']}, mean over {flow['batch']} validation palindromes."


def _env(result):
    """'AMD EPYC, 2 cores, 1 torch thread, torch 2.x' of a benchmark's recorded environment."""
    from common.bench import describe
    return describe(result.get("environment", result))


def _quartiles(t, fmt="{:.2f}"):
    return f"{fmt.format(t['median'])} ({fmt.format(t['q1'])}–{fmt.format(t['q3'])})"


def table_lstm_bench(results):
    bench = results["lstm_bench"]
    rows = ["| configuration | hand-written, fast path | hand-written, plain loop | torch.nn.LSTM | fast / nn.LSTM | plain / nn.LSTM |",
            "|---|---:|---:|---:|---:|---:|"]
    for r in bench["results"]:
        ms = r["ms_per_step"]
        rows.append(f"| {r['config']} | {ms['hand-written (fast path)']:.2f} ms | {ms['hand-written (plain loop)']:.2f} ms | "
                    f"{ms['torch.nn.LSTM']:.2f} ms | {_quartiles(r['ratio_fast_timing'])} | "
                    f"{_quartiles(r['ratio_plain_timing'])} |")
    return "\n".join(rows) + (f"\n\nMedian over {bench['rounds']} interleaved rounds of {bench['calls']} training steps "
                              f"of each model (ratios: median and quartiles of the per-round ratios); {_env(bench)}.")


def table_time_vs_length(results):
    t = results["lstm_time_vs_length"]
    rows = ["| T | " + " | ".join(str(r["T"]) for r in t["rows"]) + " |", "|---|" + "---:|" * len(t["rows"])]
    rows.append("| LSTM, ms/step | " + " | ".join(f"{r['lstm_ms']:.1f}" for r in t["rows"]) + " |")
    rows.append("| Transformer layer, ms/step | " + " | ".join(f"{r['transformer_ms']:.1f}" for r in t["rows"]) + " |")
    if "lstm_graph_depth" in t["rows"][0]:
        rows.append("| LSTM, dependent operations | " + " | ".join(str(r["lstm_graph_depth"]) for r in t["rows"]) + " |")
        rows.append("| Transformer layer, dependent operations | "
                    + " | ".join(str(r["transformer_graph_depth"]) for r in t["rows"]) + " |")
    return ("\n".join(rows) + f"\n\nBatch {t['batch']}, hidden 128; median over {t['rounds']} interleaved rounds of "
            f"{t['calls']} training steps; {_env(t)}. Dependent operations: the depth of the forward pass's autograd "
            "graph, the longest chain of operations that must run one after another.")


def _tuning_rows(runs):
    memorised = any(_memorised(r) is not None for r in runs)  # a column only for runs that measured it
    rows = ["| configuration | settings | epochs | IS | FID | classes | KL |" + (" memorised |" if memorised else "")
            + " s/epoch |", "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if memorised else "") + "---:|"]
    for r in runs:
        settings = ", ".join(f"{k} {v}" for k, v in r["settings"].items() if k != "epochs")
        epochs = r["settings"].get("epochs", "")
        if r.get("stopped_at_epoch"):
            epochs = f"{r['stopped_at_epoch']} of {epochs} (stopped)"
        rows.append(f"| {r['name']} | {settings} | {epochs} | {r['inception_score']:.2f} | "
                    f"{r['fid']:.2f} | {r['classes_covered']} | {r['kl_uniform']:.3f} | "
                    + (f"{'' if _memorised(r) is None else format(_memorised(r), '.2%')} | " if memorised else "")
                    + f"{r['seconds_per_epoch']:.1f} |")
    return "\n".join(rows)


def _tuning_table(t, split):
    runs = [r for r in t["runs"] if r["split"] == split]
    against = "the held-out test split" if split == "train" else "the same test split"
    return (_tuning_rows(runs) + f"\n\nTrained on the MNIST {split} split ({'60,000' if split == 'train' else '10,000'} "
            f"images), measured against {against}; seeds: {', '.join(str(s) for s in sorted({r['seed'] for r in runs}))}. "
            + t.get("note", "")[:1].upper() + t.get("note", "")[1:] + ".")


def table_gan_mlp_tuning(results):
    return _tuning_table(results["gan_mlp_tuning"], "train")


def table_gan_mlp_tuning_test(results):
    return _tuning_table(results["gan_mlp_tuning"], "test")


def table_dcgan_tuning(results):
    return _tuning_table(results["dcgan_tuning"], "train")


def table_dcgan_tuning_test(results):
    return _tuning_table(results["dcgan_tuning"], "test")


def table_gan_bench(results):
    b = results["gan_bench"]
    names = {"reference": "reference (DataLoader, per-item transforms)", "ours": "ours (in-memory tensor, GANTrainer steps)"}
    rows = ["| pipeline | images per second | ms per step, median (quartiles) |", "|---|---:|---:|"]
    rows += [f"| {names.get(name, name)} | {rate:,.0f} | {_quartiles(b['ms_per_step'][name])} |"
             for name, rate in b["images_per_second"].items()]
    return ("\n".join(rows) + f"\n\nSpeed-up {_quartiles(b['speedup_spread'])} (median and quartiles of the per-round "
            f"ratios); one epoch of 60,000 images at our rate: {b['seconds_per_60k_epoch']:.1f} s. Batch "
            f"{b['batch_size']}, {b['rounds']} interleaved rounds of {b['calls']} steps per pipeline; {_env(b)}.")


def table_dcgan_vs_mlp(results):
    mlp, dc = results["gan_mlp"], results["dcgan"]
    models = [("MLP GAN", mlp), ("DCGAN", dc), ("real MNIST", mlp["real"])]
    table = _gan_rows(models)
    images = "60,000" if mlp["split"] == "train" else "10,000"
    extra = [("epochs", lambda m: f"{m['epochs']}"),
             ("generator steps", lambda m: f"{m['generator_steps']:,}" if m.get("generator_steps") else ""),
             ("training time (wall clock, shared CPU)", lambda m: f"{m['training_seconds'] / 60:.0f} min"),
             (f"seconds per epoch of {images} images", lambda m: f"{m['training_seconds_per_epoch']:.1f}"),
             ("trained on", lambda m: m.get("training_hardware", "").removeprefix("CPU: "))]
    for label, fmt in extra:
        table += f"\n| {label} | {fmt(mlp)} | {fmt(dc)} | |"
    speed = results.get("dcgan_speed")
    widths = {k: dc.get("config", {}).get(k, 0) for k in ("ngf", "ndf", "g_extra", "d_extra")}
    if speed and {k: speed["dcgan_widths"].get(k, 0) for k in widths} == widths:  # timed the published networks
        g = speed["gans"]
        table += (f"\n| seconds per step, timed side by side (`dcgan/bench.py`) | {g['MLP GAN']['seconds_per_step']:.3f} | "
                  f"{g['DCGAN']['seconds_per_step']:.3f} | |")
    return table + f"\n\nBoth trained on the MNIST {mlp['split']} split and evaluated the same way."


def _evaluations_table(result):
    """Quality during training: the evaluations a run made every few epochs, of G and of its moving average."""
    evals = result.get("evaluations") or []
    if not evals:
        return "(no evaluations during training were recorded for this model)"
    # Rows written before the evaluation used the exported (BatchNorm-recalibrated) average have no
    # "step": their average-of-G numbers were measured with stale statistics and are not shown.
    stale = "step" not in evals[0]
    nets = [n for n in ("G", "G_ema") if n in evals[0] and not (stale and n == "G_ema")]
    label_of = {"G": "G", "G_ema": "average of G"}
    rows = ["| epoch | " + " | ".join(f"{e['epoch']:g}" for e in evals) + " |", "|---|" + "---:|" * len(evals)]
    for key, label, fmt in (("inception_score", "Inception Score", "{:.2f}"), ("fid", "FID", "{:.2f}"),
                            ("kl_uniform", "KL to uniform", "{:.3f}")):
        for net in nets:
            name = f"{label}, {label_of[net]}" if len(nets) > 1 else label
            rows.append(f"| {name} | " + " | ".join(fmt.format(e[net][key]) for e in evals) + " |")
    note = ("\n\nEach evaluation: 10,000 samples, during training (the published numbers above are those of the final "
            "export).")
    if stale and "G_ema" in evals[0]:
        note += (" The moving average's rows of this run are left out: they were measured with BatchNorm statistics "
                 "of the plain G (a bug fixed since; the final export was always recalibrated).")
    return "\n".join(rows) + note


def table_gan_mlp_evaluations(results):
    return _evaluations_table(results["gan_mlp"])


def table_dcgan_evaluations(results):
    return _evaluations_table(results["dcgan"])


def table_gan_mlp_200ep_evaluations(results):
    """The assignment's settings for 200 epochs on the 60k split: G (the plain run) and its average, over training."""
    run = next(r for r in results["gan_mlp_tuning"]["runs"] if r["name"] == "60k_ema_200ep")
    return _evaluations_table(run).replace("the published numbers above are those of the final export",
                                           "the tuning table's numbers are those of the final export")


def table_mode_collapse_mnist(results):
    m = results["mode_collapse_mnist"]
    models = [("Part 2 GAN", m["gan"]), ("WGAN-GP (MLP)", m["wgan_gp"]), ("real test images", m["real"])]
    table = _gan_rows(models)
    gan, wgan = m["gan"], m["wgan_gp"]
    table += f"\n| epochs | {gan['epochs']} | {wgan['epochs']} | |"
    if "generator_steps" in wgan:
        table += (f"\n| generator steps | one per batch | {wgan['generator_steps']:,} (one per {wgan['n_critic']} "
                  f"critic steps: {wgan['discriminator_steps']:,}) | |")
    table += (f"\n| training seconds | {gan['training_seconds']:.0f} | {wgan['seconds']:.0f} | |")
    return table + (f"\n\nBoth trained on the MNIST {m['split']} split ({m['train_images']:,} images), batch "
                    f"{wgan['batch_size']}, seed {wgan['seed']}; 10,000 samples each, Part 2's classifier and metrics.")
