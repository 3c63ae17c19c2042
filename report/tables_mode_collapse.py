"""The mode-collapse tables of the report (section 4) and their summaries: the 2D comparison per
setting, the learning-rate tuning, Stacked MNIST. report/tables.py re-exports the table_NAME functions
for the report's markers.
"""


def _mean(values):
    return sum(values) / len(values)


MODE_COLLAPSE_ORDER = ("gan", "wgan", "wgan_gp", "unrolled5", "unrolled10", "madgan", "pac2", "pac4")


def _of_setting(records, setting):
    """The 2D records of one setting (records written before settings existed are ours)."""
    return [r for r in records if r.get("setting", "ours") == setting]


def _mode_collapse_means(records):
    """{dataset: {method: {"modes", "high_quality", "kl", "seconds": means, "n": seeds, "min_modes", "max_modes"}}}"""
    groups = {}
    for r in records:
        groups.setdefault(r["dataset"], {}).setdefault(r["method"], []).append(r)
    out = {}
    for dataset, methods in groups.items():
        out[dataset] = {}
        for method, rs in methods.items():
            out[dataset][method] = {k: _mean([r[k] for r in rs]) for k in ("modes", "high_quality", "seconds")}
            kls = [r["kl"] for r in rs if r["kl"] is not None]  # None: no high-quality sample, KL undefined
            out[dataset][method]["kl"] = _mean(kls) if kls else None
            out[dataset][method]["kl_undefined"] = len(rs) - len(kls)
            out[dataset][method].update(n=len(rs), min_modes=min(r["modes"] for r in rs),
                                        max_modes=max(r["modes"] for r in rs))
    return out


def _mode_collapse_2d_table(records, published=None):
    means = _mode_collapse_means(records)
    n_modes = {"ring": 8, "grid": 25}
    datasets = [d for d in ("ring", "grid") if d in means]
    rows = ["| method | " + " | ".join(f"{d}: modes (of {n_modes[d]}) | {d}: high quality | {d}: KL" for d in datasets)
            + " | seconds per run (" + " / ".join(datasets) + ") |",
            "|---|" + "---:|---:|---:|" * len(datasets) + "---:|"]
    methods = [m for m in MODE_COLLAPSE_ORDER if any(m in means[d] for d in means)]
    methods += sorted({m for d in means for m in means[d]} - set(methods))
    for m in methods:
        cells, seconds = [], []
        for d in datasets:
            s = means[d].get(m)
            if s is None:
                cells += ["", "", ""]
                seconds.append("–")
                continue
            spread = "" if s["min_modes"] == s["max_modes"] else f" ({s['min_modes']}–{s['max_modes']})"
            kl = "–" if s["kl"] is None else f"{s['kl']:.3f}" + ("*" if s["kl_undefined"] else "")
            cells += [f"{s['modes']:.1f}{spread}", f"{s['high_quality']:.1%}", kl]
            seconds.append(f"{s['seconds']:.0f}")
        rows.append(f"| {m} | " + " | ".join(cells) + " | " + " / ".join(seconds) + " |")
    for p in (published or {}).get("rows", []):  # the papers' rows, in the columns they report
        cells = []
        for d in datasets:
            hit = p["dataset"] == d
            cells += [f"{p['modes']:g}" if hit else "", f"{p['high_quality']:.1%}" if hit and "high_quality" in p else "",
                      ""]
        rows.append(f"| *published: {p['method']}* | " + " | ".join(cells) + " | |")
    r0 = records[0]
    seeds = sorted({r["seed"] for r in records})
    steps = {d: sorted({r["generator_steps"] for r in records if r["dataset"] == d}) for d in datasets}
    batch = sorted({r["config"]["batch_size"] for r in records if "config" in r})
    budget = "; ".join(f"{d}: {', '.join(f'{n:,}' for n in steps[d])} generator steps" for d in datasets)
    note = (f"\n\nMean over seeds {', '.join(map(str, seeds))} (fewest–most modes where they differ); "
            f"{r0['n_samples']:,} samples per run; a mode is captured when at least {r0['threshold']} samples are "
            "high quality (within 3 standard deviations of it); KL of the mode histogram of the high-quality samples to "
            "uniform (* mean over the seeds that had any high-quality sample; – none had). Budget: "
            f"{budget}, batch {', '.join(map(str, batch))}"
            + (", every method alike" if len(batch) == 1 and all(len(v) == 1 for v in steps.values())
               else " (not equal across methods)") + "; seconds: mean wall clock of one run.")
    if published:
        note += f" Published rows: {published['source']}."
    return "\n".join(rows) + note


def table_mode_collapse_2d(results):
    """The 2D comparison in our setting (small MLPs)."""
    return _mode_collapse_2d_table(_of_setting(results["mode_collapse_2d"], "ours"))


def table_mode_collapse_2d_paper(results):
    """The 2D comparison in the papers' setting (PacGAN's and VEEGAN's networks), beside their published rows."""
    from mode_collapse.metrics import PUBLISHED_2D
    records = _of_setting(results["mode_collapse_2d"], "paper")
    if not records:
        return "(no run of the papers' setting is in the results file yet)"
    return _mode_collapse_2d_table(records, PUBLISHED_2D)


def table_mode_collapse_2d_tuning(results, setting="ours"):
    """The learning rates tune_2d.py chose per method and mixture, with every candidate's mean modes."""
    data = results["mode_collapse_2d_tuning"]
    chosen = data["chosen"].get(setting, {})
    rows = ["| mixture | method | chosen rates (D / G) | modes | high quality | every candidate: factor → modes |",
            "|---|---|---:|---:|---:|---|"]
    for dataset in ("ring", "grid"):
        by_method = chosen.get(dataset, {})
        methods = [m for m in MODE_COLLAPSE_ORDER if m in by_method] + sorted(set(by_method) - set(MODE_COLLAPSE_ORDER))
        for m in methods:
            c = by_method[m]
            candidates = (f"not tuned: {c['rates_of']}'s rates" if c.get("rates_of") else
                          ", ".join(f"×{k['factor']:.3g} → {k['modes']:.1f}" for k in c["candidates"]))
            rows.append(f"| {dataset} | {m} | {c['lr']:.2g} / {c['lr_g']:.2g} | {c['modes']:.1f} | "
                        f"{c['high_quality']:.1%} | {candidates} |")
    return ("\n".join(rows) + f"\n\nSeeds {', '.join(map(str, data['seeds']))} (never reported); rates are the "
            f"method's starting rates times each factor; criterion: {data['criterion']}.")


def table_mode_collapse_2d_tuning_paper(results):
    return table_mode_collapse_2d_tuning(results, "paper")


STACKED_ORDER = ("dcgan", "unrolled", "unrolled_nobn", "pacdcgan2", "madgan", "wgan_gp")
STACKED_LABELS = {"dcgan": "DCGAN", "unrolled": "Unrolled GAN (K = 5)",
                  "unrolled_nobn": "Unrolled GAN (K = 5), D without BatchNorm", "pacdcgan2": "PacDCGAN2",
                  "madgan": "MAD-GAN (k = 8)", "wgan_gp": "WGAN-GP"}


def _commonest_digits(histogram):
    """'3 (37%) / 3 (30%) / 8 (17%)': each channel's most frequent digit in a 1,000-mode histogram
    (mode = 100 d1 + 10 d2 + d3) and its share of the samples; uniform data gives about 10% each."""
    n, cells = sum(histogram), []
    for place in (100, 10, 1):
        counts = [0] * 10
        for mode, count in enumerate(histogram):
            counts[mode // place % 10] += count
        digit = max(range(10), key=counts.__getitem__)
        cells.append(f"{digit} ({counts[digit] / n:.0%})")
    return " / ".join(cells)


def table_stacked_mnist_long(results):
    return table_stacked_mnist(results, "stacked_mnist_long")


def table_stacked_mnist(results, name="stacked_mnist"):
    """Stacked MNIST: modes (of 1,000) and KL of every run, the samples read confidently, its training
    time, the real stacks and the published anchors."""
    data = results[name]
    runs = sorted(data["runs"], key=lambda r: (STACKED_ORDER.index(r["method"]) if r["method"] in STACKED_ORDER
                                               else len(STACKED_ORDER), r["seed"]))

    def sure(r):
        return (f"{r['confident']:.0%} | {r['modes_confident']:,}" if "confident" in r else "– | –")
    rows = ["| method | seed | modes (of 1,000) | KL to uniform | read confidently | modes among those | commonest "
            "digit per channel (share) | training time | seconds per generator step |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in runs:
        rows.append(f"| {STACKED_LABELS.get(r['method'], r['method'])} | {r['seed']} | {r['modes']:,} | {r['kl']:.2f} | "
                    f"{sure(r)} | {_commonest_digits(r['histogram'])} | {r['training_seconds'] / 60:.1f} min | "
                    f"{r['training_seconds'] / r['generator_steps']:.3f} |")
    real = data.get("real_stacks")
    if real:
        rows.append(f"| {real['n_samples']:,} real training stacks | | {real['modes']:,} | {real['kl']:.2f} | {sure(real)} "
                    "| | | |")
    for p in data["published"]["rows"]:
        rows.append(f"| *published: {p['method']}* | | {p['modes']:g} | {p['kl']:.2f} | | | | | |")
    b, protocol = data["budget"], data["protocol"]
    hardware = sorted({r.get("hardware", "") for r in runs} - {""})
    note = (f"\n\nEvery run: {b['steps']:,} generator steps of batch {b['batch_size']}, drawn from {b['n_stacks']:,} "
            f"training stacks (digits of the MNIST training split); modes and KL over {protocol['n_samples']:,} samples, "
            "read by the evaluation classifier channel by channel; read confidently: the classifier's top probability "
            "is at least 0.9 on all three channels. Training time is wall clock without the evaluations "
            f"({'; '.join(hardware)}).")
    if real:
        note += (f" The real stacks are read right (all three digits) {real['read_right']:.1%} of the time.")
    return "\n".join(rows) + note + f" Published: {data['published']['source']}."
