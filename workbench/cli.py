"""``workbench serve``, ``workbench info``, ``workbench report`` and ``workbench score``."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import WorkbenchDataError


def _data_arguments(parser: argparse.ArgumentParser, *, positional: bool) -> None:
    from .data.sources import FORMAT_NAMES

    if positional:
        parser.add_argument("path", nargs="?", help="data file (omit for the demo study)")
    else:
        parser.add_argument("--data", dest="path", help="data file (omit for the built-in demo study)")
    parser.add_argument("--format", choices=FORMAT_NAMES, help="table format or data-set reader (default: from the extension)")
    parser.add_argument("--item", nargs="+", action="extend", metavar="COLUMN",
                        help="item id column, or several columns that together identify an item (table formats)")
    parser.add_argument("--rater", help="rater id column (table formats)")
    parser.add_argument("--label", help="label column (table formats; 'severity'/'abusive' for convabuse; a rating column such as 'offensive' for lewidi)")
    parser.add_argument("--level", choices=("nominal", "ordinal", "interval", "ratio"), help="level of measurement (table formats)")
    parser.add_argument("--duplicates", choices=("error", "first", "last"),
                        help="repeated (item, rater) rows: refuse them (default), or keep the first or last of each")
    parser.add_argument("--raters", metavar="PATH",
                        help="rater attributes (CSV/TSV/JSON/JSONL/Parquet, one row per rater id; a LeWiDi annotator file)")


def _load(args):
    from .data.sources import open_ratings

    item = args.item[0] if args.item and len(args.item) == 1 else args.item
    return open_ratings(args.path, args.format, item=item, rater=args.rater, label=args.label, level=args.level,
                        duplicates=args.duplicates, raters=args.raters)


def _info(args) -> int:
    from .analysis.summary import rater_attribute_summary

    ratings = _load(args)
    print(ratings.meta.get("dataset", ratings.meta.get("source", "ratings")))
    for key in ("reader", "rater_attributes"):
        if key in ratings.meta:
            print(f"  {key.replace('_', ' '):<40} {ratings.meta[key]}")
    for key, value in ratings.summary().items():
        shown = " / ".join(map(str, value)) if isinstance(value, tuple) else "—" if value is None else value
        print(f"  {key:<40} {shown}")
    per_item = ratings.raters_per_item().value_counts().sort_index()
    print("ratings per item:")
    for k, n in per_item.items():
        print(f"  {k:>4}: {n}")
    totals = ratings.label_counts().sum(axis=0)
    if len(totals) <= 30:
        print("label distribution:")
        for label, n in totals.items():
            print(f"  {str(label):>10}: {n}")
    attributes = rater_attribute_summary(ratings)
    if len(attributes):
        print("rater attributes:")
        print(attributes.to_string(index=False))
    return 0


def _serve(args) -> int:
    from .data.store import Store
    from .ui.app import serve, serve_notebook

    if args.notebook:
        print(f"workbench: serving {args.notebook} at http://{args.address}:{args.port}/", flush=True)
        serve_notebook(args.notebook, port=args.port, address=args.address, show=args.show,
                       allow_websocket_origin=args.allow_websocket_origin, basic_auth=args.basic_auth, cookie_secret=args.cookie_secret)
        return 0
    ratings = _load(args)
    store = Store(args.store) if args.store else None
    print(f"workbench: serving {ratings!r} at http://{args.address}:{args.port}/", flush=True)
    serve(ratings, store=store, port=args.port, address=args.address, show=args.show,
          allow_websocket_origin=args.allow_websocket_origin, max_upload_mb=args.max_upload_mb,
          basic_auth=args.basic_auth, cookie_secret=args.cookie_secret)
    return 0


def _report(args, argv) -> int:
    import shlex

    from .data.store import Store
    from .ui.report import report

    ratings = _load(args)
    store = Store(args.store) if args.store else None
    command = "workbench " + " ".join(shlex.quote(str(a)) for a in argv)
    path = report(ratings, args.output, store=store, recipe=args.recipe, by=args.by, static=args.static, n_boot=args.n_boot,
                  n_perm=args.n_perm, seed=args.seed, top=args.top, command=command)
    print(f"workbench: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


PAIR_TEXT_COLUMNS = ("prompt", "response_a", "response_b")


def _read_pairs(path: str):
    """A table of preference pairs (csv, tsv, parquet, json lines): one row per item, or a long ratings table whose
    rows repeat each item's texts (then one row per item_id is kept)."""
    from pathlib import Path

    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise WorkbenchDataError(f"pairs file {path!r} does not exist")
    suffix = "".join(file.suffixes[-2:]).lower() if file.suffix.lower() == ".gz" else file.suffix.lower()
    readers = {".csv": pd.read_csv, ".csv.gz": pd.read_csv, ".tsv": lambda f: pd.read_csv(f, sep="\t"),
               ".parquet": pd.read_parquet, ".jsonl": lambda f: pd.read_json(f, lines=True),
               ".jsonl.gz": lambda f: pd.read_json(f, lines=True), ".json": pd.read_json}
    if suffix not in readers:
        raise WorkbenchDataError(f"pairs file {path!r}: cannot tell the format from {suffix or 'no extension'!r}; "
                                 f"use one of {', '.join(readers)}")
    try:
        frame = readers[suffix](file)
    except (ValueError, OSError, ImportError) as err:
        raise WorkbenchDataError(f"cannot read pairs file {path!r}: {str(err).splitlines()[0]}") from None
    missing = [c for c in PAIR_TEXT_COLUMNS if c not in frame.columns]
    if missing:
        raise WorkbenchDataError(f"pairs file {path!r} needs columns {', '.join(PAIR_TEXT_COLUMNS)}; missing {missing[0]!r}")
    if "item_id" not in frame.columns:
        frame = frame.assign(item_id=[f"pair-{k:06d}" for k in range(len(frame))])
    frame["item_id"] = frame["item_id"].astype(str)
    texts = frame[["item_id", *PAIR_TEXT_COLUMNS]].drop_duplicates()
    repeated = texts["item_id"].duplicated()
    if repeated.any():
        raise WorkbenchDataError(f"pairs file {path!r}: item {texts.loc[repeated, 'item_id'].iloc[0]!r} appears with "
                                 "different texts")
    return texts.set_index("item_id")


def _score(args) -> int:
    """Score a pairs file with a local checkpoint (or a DPO policy and reference) and write item_id, score_a, score_b, p_a."""
    from pathlib import Path

    from .analysis.scoring import score_pairs
    from .data.store import Store

    pairs = _read_pairs(args.pairs)
    out = Path(args.output)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise WorkbenchDataError(f"-o {args.output!r}: write .parquet or .csv")
    store = Store(args.store) if args.store else None
    scored = score_pairs(args.checkpoint, pairs, reference=args.reference, beta=args.beta,
                         length_normalize=args.length_normalize, batch_size=args.batch_size, max_length=args.max_length,
                         max_batch_tokens=args.max_batch_tokens or None, device=args.device, dtype=args.dtype, store=store,
                         progress=not args.quiet)
    table = scored.rename_axis("item_id").reset_index()
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    report = scored.attrs["scoring"]
    name = args.name or Path(args.checkpoint).name
    if store is not None:
        store.save_scores(name, table[["item_id", "score_a", "score_b"]], fingerprint=report["fingerprint"])
    print(f"workbench: scored {len(table)} pairs with {name} ({report['text_format']}; {report['cached']} of "
          f"{report['unique_texts']} texts from the cache, {report['truncated']} truncated, {report['device']}, "
          f"{report['dtype']}) → {out}", file=sys.stderr)
    return 0


def _score_command(commands) -> None:
    score = commands.add_parser("score", help="score preference pairs with a local reward model or DPO policy")
    score.add_argument("checkpoint", help="local checkpoint folder (sequence classifier, or causal LM for DPO rewards)")
    score.add_argument("pairs", metavar="PAIRS_FILE", help="csv/tsv/parquet/jsonl with prompt, response_a, response_b "
                                                           "(and item_id)")
    score.add_argument("-o", "--output", required=True, help="where to write item_id, score_a, score_b, p_a (.parquet or .csv)")
    score.add_argument("--reference", help="reference model folder: DPO implicit rewards β·Σ log π/π_ref")
    score.add_argument("--beta", type=float, help="DPO β (default 0.1)")
    score.add_argument("--length-normalize", action="store_true", help="reference-free: mean log-prob per token (SimPO)")
    score.add_argument("--store", help="SQLite store: cache scores per text and save them under --name for the app")
    score.add_argument("--name", help="model name in the store (default: the checkpoint folder's name)")
    score.add_argument("--batch-size", type=int, default=32)
    score.add_argument("--max-length", type=int, help="token limit (default: the model's)")
    score.add_argument("--max-batch-tokens", type=int, default=16384, help="padded tokens per batch (0: no bound)")
    score.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 …")
    score.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="weights' dtype (default float32)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description="Study human label variation in preference data.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="launch the app (the demo study unless --data is given)")
    _data_arguments(serve, positional=False)
    serve.add_argument("--store", help="SQLite file for tags, recipes and scores")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument("--address", default="127.0.0.1", help="interface to bind (default: localhost only)")
    serve.add_argument("--show", action="store_true", help="open a browser tab")
    serve.add_argument("--notebook", metavar="IPYNB", help="serve a curated notebook's .servable() components as an app instead")
    serve.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]",
                       help="another host name the page may be opened under (repeatable; for a proxy or a team server)")
    serve.add_argument("--max-upload-mb", type=float, default=200, help="largest file the data picker accepts (default 200)")
    serve.add_argument("--basic-auth", metavar="PASSWORD_OR_FILE",
                       help="ask for a password (or user:password lines in a file); the login names the tagger")
    serve.add_argument("--cookie-secret", help="secret that signs login cookies (needed with --basic-auth for several workers)")
    info = commands.add_parser("info", help="print the Overview summary of a data set")
    _data_arguments(info, positional=True)
    report = commands.add_parser("report", help="write a self-contained HTML report of a data set (the demo study without DATA)")
    _data_arguments(report, positional=True)
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")
    report.add_argument("--store", help="SQLite store: its tags, saved model scores and recipes")
    report.add_argument("--recipe", help="name of a cleaning recipe in the store: what each rule did, and the provenance file")
    report.add_argument("--by", nargs="+", action="extend", metavar="COLUMN",
                        help="rater or item columns to slice agreement by (default: up to two attributes with 2-12 values)")
    report.add_argument("--static", action="store_true", help="figures as SVG, no script (for PDF export and journals)")
    report.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates per interval (default 200)")
    report.add_argument("--n-perm", type=int, default=1000, help="permutations per group-divergence test (default 1000)")
    report.add_argument("--seed", type=int, default=0)
    report.add_argument("--top", type=int, default=20, help="items listed at most per table (default 20)")
    _score_command(commands)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            return _report(args, argv)
        if args.command == "score":
            return _score(args)
        return _serve(args) if args.command == "serve" else _info(args)
    except WorkbenchDataError as err:
        print(f"workbench: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
