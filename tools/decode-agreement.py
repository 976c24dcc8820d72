#!/usr/bin/python3
"""What `--decode fast` costs in fidelity: top-1 and ordered top-5 agreement with `--decode exact`.

  decode-agreement.py EXACT.jsonl FAST.jsonl

Each file is `resnest classify --logits --decode exact|fast` output over the same images (tools/decode-agreement.sh
makes both). Rankings are taken from the raw logits, so saturated probabilities cannot hide a reordering.
Prints one JSON summary line and, on stderr, the images that disagree.
"""
import json
import sys


def ranking(line):
    logits = line["logits"]
    return sorted(range(len(logits)), key=lambda i: -logits[i])[:5]


def load(path):
    with open(path) as f:
        return {json.loads(l)["file"]: json.loads(l) for l in f if l.strip()}


def main():
    exact, fast = load(sys.argv[1]), load(sys.argv[2])
    files = sorted(set(exact) & set(fast))
    top1 = top5 = top5set = 0
    gaps = []
    for f in files:
        if "logits" not in exact[f] or "logits" not in fast[f]:
            print(f"{f}: no result in one of the runs", file=sys.stderr)
            continue
        e, q = ranking(exact[f]), ranking(fast[f])
        top1 += e[0] == q[0]
        top5 += e == q
        top5set += set(e) == set(q)
        logits = exact[f]["logits"]
        gaps.append(logits[e[0]] - logits[e[1]])
        if e != q:
            print(f"{f}: exact {e} fast {q}", file=sys.stderr)
    n = len(files)
    gaps.sort()
    print(json.dumps({
        "images": n, "top1Agreement": round(top1 / n, 4), "orderedTop5Agreement": round(top5 / n, 4),
        "top5SetAgreement": round(top5set / n, 4), "top1Disagreements": n - top1,
        "medianTop1Top2LogitGap": round(gaps[len(gaps) // 2], 3) if gaps else None}))


if __name__ == "__main__":
    main()
