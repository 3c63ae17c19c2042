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
