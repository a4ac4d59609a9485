#!/usr/bin/python3
"""The hostlist oracle: ccslurmctl against the real scontrol.

For every expression of the hand-picked corpus and of the generated one
(gen_corpus.py, fixed seed), run `scontrol show hostnames|hostlist EXPR`
and `ccslurmctl hostnames|hostlist -- EXPR` and compare stdout byte for byte.
Where scontrol rejects the expression ("Invalid hostlist" or an "error:" on
stderr; it still exits 0), ccslurmctl must exit non-zero.

    oracle.py --ctl PATH [--scontrol PATH] [--corpus FILE] [--generated N]

Exit 0 when all agree, 1 on any mismatch, 77 (skip) without scontrol.
scontrol needs a slurm.conf but no slurmctld: a two-line one is written to
a temporary directory.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_corpus  # noqa: E402


def run(argv, env):
    p = subprocess.run(argv, capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(ctl, scontrol, env, mode, expr):
    _, s_out, s_err = run([scontrol, "show", mode, expr], env)
    o_rc, o_out, o_err = run([ctl, mode, "--", expr], env)
    s_invalid = b"Invalid hostlist" in s_err or b"error:" in s_err
    if s_invalid:
        if o_rc != 0 and o_out == b"":
            return None
        why = "scontrol refused it, ours exited %d" % o_rc
    elif o_rc != 0:
        why = "ours refused it: %s" % o_err.decode(errors="replace").strip()
    elif o_out != s_out:
        why = "output differs"
    else:
        return None
    return "%s %r: %s\n  scontrol: %r\n  ours:     %r" % (
        mode, expr, why, s_out[:300], o_out[:300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--scontrol", default=shutil.which("scontrol"))
    ap.add_argument("--corpus",
                    default=os.path.join(HERE, "corpus-handpicked.txt"))
    ap.add_argument("--generated", type=int, default=450)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    if not a.scontrol or not os.access(a.scontrol, os.X_OK):
        print("scontrol not found: skipping the oracle")
        return 77
    with open(a.corpus, encoding="utf-8") as f:
        corpus = [line.rstrip("\n") for line in f]
    corpus += gen_corpus.generate(count=a.generated)

    with tempfile.TemporaryDirectory(prefix="ccs-oracle-") as tmp:
        conf = os.path.join(tmp, "slurm.conf")
        with open(conf, "w") as f:
            f.write("ClusterName=t\nSlurmctldHost=localhost\n")
        env = dict(os.environ, SLURM_CONF=conf)
        env.pop("CCSLURMD_SOCKET", None)
        cases = [(m, e) for e in corpus for m in ("hostnames", "hostlist")]
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            results = list(pool.map(
                lambda c: check(a.ctl, a.scontrol, env, c[0], c[1]), cases))

    failed = [r for r in results if r is not None]
    for r in failed:
        print("MISMATCH " + r)
    print("%d expressions, %d checks: %d passed, %d failed" % (
        len(corpus), len(cases), len(cases) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
