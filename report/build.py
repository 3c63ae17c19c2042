"""Regenerate every number and table of the report (and the README) from report/results/*.json.

    python report/build.py            # rewrite the marked places in report/report.md and README.md
    python report/build.py --check    # exit 1, naming the place, if any marked place is stale

Numbers are never typed into the report: they sit between markers that Markdown does not show,
  <!--v NAME.key.subkey:FORMAT-->0.123<!--/v-->   a value of results file NAME (or a summary below)
  <!--table NAME-->...<!--/table-->               a table made by one of the functions in tables.py or
                                                   tables_mode_collapse.py
and this script fills them in. The test suite runs --check, so the report cannot drift from
the results files.
"""
import glob
import json
import os
import re
import sys

from common.cli import ArgumentParser, run_main
from common.paths import REPO, RESULTS

DOCUMENTS = [os.path.join(REPO, *path.split("/"))
             for path in ("report/report.md", "README.md", "dcgan/README.md", "mode_collapse/README.md")]
VALUE = re.compile(r"<!--v (?P<path>[\w.\-]+)(?::(?P<fmt>[^>]*?))?-->(?P<body>.*?)<!--/v-->", re.S)
TABLE = re.compile(r"<!--table (?P<name>[\w\-]+)-->(?P<body>.*?)<!--/table-->", re.S)


def load_results(folder=RESULTS):
    """{file stem: parsed JSON} of every results file (and of the data beside the figures), plus the summaries of tables.summaries()."""
    from report import tables
    results = {}
    figure_data = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(folder)), "figures", "*.json")))
    for path in figure_data + sorted(glob.glob(os.path.join(folder, "*.json"))):  # a figure's data sits beside it
        try:
            with open(path) as f:
                results[os.path.splitext(os.path.basename(path))[0]] = json.load(f)
        except ValueError as err:
            raise ValueError(f"{os.path.relpath(path)} is not valid JSON ({err}): restore it with "
                             "git checkout, or rerun the script that writes it") from None
    try:
        results.update(tables.summaries(results))
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise ValueError(f"a results file lacks what the report needs ({type(err).__name__}: {err}): "
                         "restore report/results with git checkout, or rerun the script that writes it") from None
    return results


def lookup(results, path):
    node = results
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(path)
    return node


def format_value(value, fmt):
    if not fmt:
        return str(value)
    if fmt.endswith("min"):  # seconds shown as minutes
        return format(value / 60, fmt[:-3] or ".0f")
    return format(value, fmt)


def render(text, results, where="document"):
    """``text`` with every marked value and table recomputed from ``results``."""
    from report import tables, tables_mode_collapse

    def value(match):
        try:
            v = lookup(results, match["path"])
        except KeyError:
            raise ValueError(f"{where}: no value {match['path']!r} in report/results") from None
        fmt = match["fmt"] or ""
        return f"<!--v {match['path']}{':' + fmt if fmt else ''}-->{format_value(v, fmt)}<!--/v-->"

    def table(match):
        name = f"table_{match['name'].replace('-', '_')}"
        make = getattr(tables, name, None) or getattr(tables_mode_collapse, name, None)
        if make is None:
            raise ValueError(f"{where}: no table named {match['name']!r} in report/tables.py or "
                             "report/tables_mode_collapse.py")
        try:
            body = make(results).strip()
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise ValueError(f"{where}: table {match['name']!r} cannot be made from report/results "
                             f"({type(err).__name__}: {err}); restore or regenerate the results file") from None
        return f"<!--table {match['name']}-->\n{body}\n<!--/table-->"

    return VALUE.sub(value, TABLE.sub(table, text))


def stale_places(old, new):
    """Line numbers where the rendered text differs."""
    a, b = old.splitlines(), new.splitlines()
    return [i + 1 for i in range(max(len(a), len(b))) if (a[i] if i < len(a) else None) != (b[i] if i < len(b) else None)]


def build(check=False, documents=DOCUMENTS, results_folder=RESULTS):
    results = load_results(results_folder)
    stale = []
    for path in documents:
        with open(path) as f:
            old = f.read()
        new = render(old, results, where=os.path.relpath(path, REPO))
        if new != old:
            stale.append((path, stale_places(old, new)))
            if not check:
                with open(path, "w") as f:
                    f.write(new)
    return stale


def main(argv=None):
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a marked place is stale")
    args = p.parse_args(argv)
    stale = build(check=args.check)
    for path, lines in stale:
        where = f"{os.path.relpath(path, REPO)}, line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:8]))}"
        print(("stale: " if args.check else "updated: ") + where)
    if args.check and stale:
        sys.exit(1)
    if not stale:
        print("report and README agree with report/results")
    return stale


if __name__ == "__main__":
    run_main(main)
