#!/usr/bin/python3
"""Generate random but plausible hostlist expressions for the oracle test.

Fixed seed, so the corpus is the same on every run: a mismatch found once
is found again.  Mostly valid shapes (prefixes with dashes and digits,
zero padding, ranges, several groups, comma lists, duplicates), and some
junk mixed in (stray brackets, bad ranges, text after a bracket).

    gen_corpus.py [--seed N] [--count N]    prints one expression a line
"""
import argparse
import random

PREFIXES = ["n", "node", "hpc-pg0-", "hpc-pg12-", "gpu-", "cn", "r1-n",
            "a-b-c", "x", "", "ib", "c1", "hpc-", "login", "n0", "Z"]
JUNK = ["[", "]", "-", ",", " ", "x", "--", "[]", "a", "+", "0"]


def num(rng, width):
    n = rng.choice([0, 1, 2, 7, 8, 9, 10, 11, 99, 100, 101, 999,
                    rng.randint(0, 200), rng.randint(0, 5000)])
    if width and rng.random() < 0.6:
        return str(n).zfill(width)
    return str(n)


def item(rng):
    width = rng.choice([0, 0, 0, 2, 3, 4])
    lo = num(rng, width)
    r = rng.random()
    if r < 0.35:
        return lo
    span = rng.choice([0, 1, 2, 5, 10, 50])
    hi = str(int(lo) + span)
    if rng.random() < 0.5:
        hi = hi.zfill(rng.choice([0, width, len(hi) + 1]))
    if rng.random() < 0.05:
        lo, hi = hi, lo          # reversed: invalid unless equal
    return lo + "-" + hi


def group(rng):
    return "[" + ",".join(item(rng) for _ in range(rng.choice([1, 1, 2, 3])))\
        + "]"


def name(rng):
    r = rng.random()
    p = rng.choice(PREFIXES)
    if r < 0.25:
        return p + num(rng, rng.choice([0, 2, 3]))
    if r < 0.70:
        return p + group(rng)
    if r < 0.85:
        return p + group(rng) + rng.choice(["-", "-n", "x", ""]) + group(rng)
    if r < 0.92:
        return p + group(rng) + rng.choice(["-ib", "x", ".a"])
    return p or "plain"


def junk(rng, s):
    s = list(s)
    for _ in range(rng.randint(1, 2)):
        pos = rng.randint(0, len(s))
        s.insert(pos, rng.choice(JUNK))
    return "".join(s)


def expr(rng):
    parts = [name(rng) for _ in range(rng.choice([1, 1, 1, 2, 3, 5]))]
    if rng.random() < 0.15:
        parts.append(rng.choice(parts))          # a duplicate
    s = rng.choice([",", ",", " ", ",,"]).join(parts)
    if rng.random() < 0.12:
        s = junk(rng, s)
    return s


def generate(seed=20250522, count=450):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        e = expr(rng)
        if "\n" not in e:
            out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20250522)
    ap.add_argument("--count", type=int, default=450)
    a = ap.parse_args()
    for e in generate(a.seed, a.count):
        print(e)


if __name__ == "__main__":
    main()
