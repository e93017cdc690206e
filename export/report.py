"""Markdown tables of an ``evaluation.json`` for the model card.

    python -m export.report models/default/evaluation.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _ci(m: dict) -> str:
    lo, hi = m["ci95"]
    return "–" if m.get("rate") is None else f"{m['rate']:.3f} [{lo:.3f}, {hi:.3f}]"


def real_table(results: dict) -> str:
    """Per condition: real identities called fake, frame/window FPR with and without the gate."""
    rows = ["| condition | identities called fake [95 % CI] | without gate | window FPR [95 % CI] | without gate | "
            "frame FPR | frames refused by the gate |", "|---|---|---|---|---|---|---|"]
    for cond, res in results.get("conditions", {}).items():
        r = res.get("real")
        if not r:
            continue
        n = r["identities"]
        rows.append(f"| {cond} | {_ci(r['identities_fake'])} of {n} | {r['identities_fake_ungated']['rate']:.3f} | "
                    f"{_ci(r['window_fpr'])} | {r['window_fpr_ungated']['rate']:.3f} | {r['frame_fpr']['rate']:.3f} | "
                    f"{r['gate_refused_share']:.3f} |")
    return "\n".join(rows)


def fake_table(results: dict) -> str:
    rows = ["| condition | fake kind | window AUC [95 % CI] | TPR at 5 % FPR (window) | frame AUC | "
            "fake clips called fake |", "|---|---|---|---|---|---|"]
    for cond, res in results.get("conditions", {}).items():
        for kind, lv in res.get("fakes", {}).items():
            w, f = lv.get("window"), lv.get("frame")
            if not w or not f:
                continue
            lo, hi = w["auc_ci95"]
            rows.append(f"| {cond} | {kind} | {w['auc']:.3f} [{lo:.3f}, {hi:.3f}] | {w['tpr_at_5fpr']:.3f} | "
                        f"{f['auc']:.3f} | {lv['clips_called_fake']:.2f} |")
    return "\n".join(rows)


def identity_table(results: dict, condition: str = "clean") -> str:
    rows = ["| real person | clips | faces | refused by the gate | mean window score | windows called fake | "
            "verdict |", "|---|---|---|---|---|---|---|"]
    table = results.get("conditions", {}).get(condition, {}).get("per_identity", {})
    for person, m in table.items():
        mean = "–" if m["window_mean"] is None else f"{m['window_mean']:.3f}"
        share = "–" if m["windows_fake"] is None else f"{m['windows_fake']:.2f}"
        rows.append(f"| {person} | {len(m['clips'])} | {m['faces']} | {m['refused']} | {mean} | {share} | "
                    f"{m['verdict']} |")
    return "\n".join(rows)


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models/default/evaluation.json")
    results = json.loads(path.read_text())
    print(real_table(results), fake_table(results), identity_table(results), sep="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
