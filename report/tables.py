"""Tables and summaries of the results files, for report/build.py.

summaries(results) adds derived entries (means over seeds, ...) that markers can name;
each table_NAME(results) returns a Markdown table for a <!--table NAME--> marker.
"""


def _mean(values):
    return sum(values) / len(values)


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
        pal["seconds_total"] = sum(r["seconds"] for r in sweep)
        out["palindrome"] = pal
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
            cells.append("" if s is None else f"{s['mean']:.1%}" + ("" if s["min"] == s["max"] else f" ({s['min']:.0%}–{s['max']:.0%})"))
        rows.append(f"| {m.upper()} | " + " | ".join(cells) + " |")
    return (head + "\n" + "\n".join(rows) + "\n\nValidation accuracy, mean over seeds (lowest–highest seed where they differ).")


def _gan_rows(models):
    rows = [("Inception Score (classifier)", "inception_score", "{:.2f}"), ("FID (classifier features)", "fid", "{:.3f}"),
            ("classes covered (≥ 1% of samples)", "classes_covered", "{:d}"),
            ("KL(class histogram ‖ uniform)", "kl_uniform", "{:.4f}")]
    head = "| metric | " + " | ".join(name for name, _ in models) + " |\n|---|" + "---:|" * len(models)
    body = [f"| {label} | " + " | ".join(fmt.format(m[key]) for _, m in models) + " |" for label, key, fmt in rows]
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
    from part2_gan.checkpoints import count_parameters
    from part2_gan.model import Discriminator, Generator
    return {"lstm_onehot_128": count_parameters(LSTM(10, 10, 128, 10)),
            "rnn_onehot_128": count_parameters(VanillaRNN(10, 10, 128, 10)),
            "gan_generator": count_parameters(Generator(100)),
            "gan_discriminator": count_parameters(Discriminator())}


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


def table_lstm_bench(results):
    bench = results["lstm_bench"]
    rows = ["| configuration | hand-written, fast path | hand-written, plain loop | torch.nn.LSTM | fast / nn.LSTM | plain / nn.LSTM |",
            "|---|---:|---:|---:|---:|---:|"]
    for r in bench["results"]:
        ms = r["ms_per_step"]
        rows.append(f"| {r['config']} | {ms['hand-written (fast path)']:.2f} ms | {ms['hand-written (plain loop)']:.2f} ms | "
                    f"{ms['torch.nn.LSTM']:.2f} ms | {r['ratio_fast']:.2f} | {r['ratio_plain']:.2f} |")
    return "\n".join(rows) + f"\n\nMedian of {bench['reps']} training steps each, stepped in turn; {bench['hardware']}, torch {bench['torch']}."


def table_time_vs_length(results):
    t = results["lstm_time_vs_length"]
    rows = ["| T | " + " | ".join(str(r["T"]) for r in t["rows"]) + " |", "|---|" + "---:|" * len(t["rows"])]
    rows.append("| LSTM, ms/step | " + " | ".join(f"{r['lstm_ms']:.1f}" for r in t["rows"]) + " |")
    rows.append("| Transformer layer, ms/step | " + " | ".join(f"{r['transformer_ms']:.1f}" for r in t["rows"]) + " |")
    return "\n".join(rows) + f"\n\nBatch {t['batch']}, hidden 128; {t['hardware']}."
