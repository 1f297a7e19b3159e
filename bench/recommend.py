"""Recommendation benchmark: fullcycle against popularity and implicit's ALS, BPR and item-kNN,
on the wave-2 protocol (../shared/tools/wave2: per-user random 75/25 split with seed 42, k=10,
binary relevance = the user's held-out items, seen items excluded, users with >= 1 held-out item).

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/recommend.py
        [--sets movielens_100k,lastfm_hetrec2011] [--time-budget 120] [--via cli|api]
        [--markdown BENCHMARKS-part.md]

fullcycle runs as a user would (`fullcycle train ... --task recommend` then `fullcycle predict
--top-k 10`), or in process (`--via api`, the same code without the CLI); the anchors run in
their own venv (bench/peers.py) through the wave-2 `anchors.py`. Split and scores come from the
wave-2 `split.py` and `score.py`, so this measures what the acceptance measures. lastfm (not in
split.py's list) is split by the same function with its columns renamed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WAVE2 = ROOT.parent / "shared" / "tools" / "wave2"
DATA = ROOT.parent / "shared" / "datasets"
ANCHORS = ["pandas<3", "statsforecast", "implicit", "pyod", "scikit-learn"]
EXTRA_SETS = {  # sets split.py does not list: same protocol, columns renamed to its names
    "lastfm_hetrec2011": ("lastfm_hetrec2011/lastfm_hetrec2011.csv", "recommend",
                          {"rename": {"userID": "userId", "artistID": "movieId",
                                      "weight": "rating"}}),
}
ITEMS = {"movielens_100k": ("movielens_100k/movies.csv", "item_id"),
         "lastfm_hetrec2011": ("lastfm_hetrec2011/artists.csv", "id")}

ANCHOR_RUNNER = """
import json, os, sys, time
sys.path.insert(0, {wave2!r})
import split, anchors
from score import score
split.SETS.update({extra!r})
name, root, wd, out = sys.argv[1:5]
meta = split.make_split(name, root, wd)
for anchor, run in anchors.recommend(wd, meta):
    rec = {{"dataset": name, "tool": anchor}}
    t0 = time.time()
    try:
        pred, rec["fit_s"], rec["predict_s"] = run()
        pred.to_csv(f"{{wd}}/pred_{{anchor}}.csv", index=False)
        rec["scores"] = score(wd, f"{{wd}}/pred_{{anchor}}.csv")
    except Exception as e:
        rec["error"] = f"{{type(e).__name__}}: {{e}}"[-800:]
    rec["wall_s"] = time.time() - t0
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\\n")
"""


def run_anchors(name: str, wd: Path) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from peers import peer_python

    python = peer_python("wave2", ANCHORS)
    out = wd / "anchors.jsonl"
    out.unlink(missing_ok=True)
    script = wd / "run_anchors.py"
    script.write_text(ANCHOR_RUNNER.format(wave2=str(WAVE2), extra=EXTRA_SETS))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run([python, str(script), name, str(DATA), str(wd), str(out)], check=True,
                   env=env)
    return [json.loads(line) for line in out.read_text().splitlines()]


def split_set(name: str, wd: Path) -> None:
    sys.path.insert(0, str(WAVE2))
    import split

    split.SETS.update(EXTRA_SETS)
    split.make_split(name, str(DATA), str(wd))


def run_fullcycle(name: str, wd: Path, budget: float, via: str) -> dict:
    sys.path.insert(0, str(WAVE2))
    from score import score

    pred = wd / "pred_fullcycle.csv"
    items, key = ITEMS.get(name, (None, None))
    t0 = time.perf_counter()
    if via == "cli":
        exe = str(ROOT / ".venv" / "bin" / "fullcycle")
        ws = wd / "ws"
        cmd = [exe, "train", str(wd / "train.csv"), "--task", "recommend", "--user-column",
               "userId", "--item-column", "movieId", "--rating-column", "rating",
               "--time-budget", str(budget), "--workspace", str(ws)]
        if items:
            cmd += ["--items", str(DATA / items), "--item-key", key]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        subprocess.run([exe, "predict", "--workspace", str(ws), "--input",
                        str(wd / "users.csv"), "--output", str(pred), "--top-k", "10"],
                       check=True, stdout=subprocess.DEVNULL)
        predict_s = time.perf_counter() - t1
        model = ""
    else:
        import pandas as pd

        from fullcycle.tasks.recommend.fit import fit_recommender

        train = pd.read_csv(wd / "train.csv")
        result = fit_recommender(train, user="userId", item="movieId", rating="rating",
                                 budget_s=budget, seed=42)
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        users = pd.read_csv(wd / "users.csv")["userId"]
        result.recommender.frame(users, 10, "userId", "movieId").to_csv(pred, index=False)
        predict_s = time.perf_counter() - t1
        model = result.recommender.description
    return {"dataset": name, "tool": f"fullcycle ({via})", "fit_s": fit_s,
            "predict_s": predict_s, "scores": score(str(wd), str(pred)), "model": model}


def table(rows: list[dict]) -> str:
    lines = ["| data | tool | nDCG@10 | precision@10 | recall@10 | MAP@10 | coverage | "
             "fit s | predict s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r.get("scores") or {}
        if not s:
            lines.append(f"| {r['dataset']} | {r['tool']} | error: {r.get('error', '')[:60]} "
                         "| | | | | | |")
            continue
        lines.append(f"| {r['dataset']} | {r['tool']} | {s['ndcg']:.4f} | {s['precision']:.4f} "
                     f"| {s['recall']:.4f} | {s['map']:.4f} | {s['coverage']:.4f} | "
                     f"{r.get('fit_s') or 0:.1f} | {r.get('predict_s') or 0:.2f} |")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> list[str]:
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name and r["tool"].startswith("fullcycle")]
        peers = [r for r in rows if r["dataset"] == name and "scores" in r
                 and not r["tool"].startswith("fullcycle")]
        if not mine or not peers or "scores" not in mine[0]:
            continue
        best = max(peers, key=lambda r: r["scores"]["ndcg"])
        m, b = mine[0]["scores"], best["scores"]
        out.append(f"{name}: fullcycle nDCG@10 {m['ndcg']:.4f} = {m['ndcg'] / b['ndcg']:.3f} x "
                   f"best anchor ({best['tool']} {b['ndcg']:.4f}); coverage {m['coverage']:.4f} "
                   f"vs {b['coverage']:.4f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="movielens_100k,lastfm_hetrec2011")
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--via", choices=["cli", "api"], default="cli")
    parser.add_argument("--skip-anchors", action="store_true")
    parser.add_argument("--reuse-anchors", action="store_true",
                        help="reuse anchors.jsonl of an earlier run on the same split (the "
                             "anchors are deterministic: seed 42, one thread)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "fc_recommend"))
    parser.add_argument("--markdown")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows: list[dict] = []
    for name in args.sets.split(","):
        wd = Path(args.work) / name
        wd.mkdir(parents=True, exist_ok=True)
        split_set(name, wd)
        done = wd / "anchors.jsonl"
        if args.reuse_anchors and done.exists():
            rows += [json.loads(line) for line in done.read_text().splitlines()]
        elif not args.skip_anchors:
            rows += run_anchors(name, wd)
        rows.append(run_fullcycle(name, wd, args.time_budget, args.via))
        print(json.dumps(rows[-1]), flush=True)
    text = table(rows) + "\n\n" + "\n".join(f"- {v}" for v in verdict(rows))
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
