#!/usr/bin/python3
"""bench_report.py: the benchmarks' Python side (standard library only).

  arrays --total N --narrays K [--config-bytes B] [--precreate]
        an ARRAYS.json for tests/fake/fakecc.py: K autoscale nodearrays
        (HPC and HTC in turn) totalling N nodes; every node's Configuration
        is about B bytes of JSON (decisions.md: benchmarks use node records
        of realistic size)
  names ARRAYS.json [FIRST]
        every node name those arrays give (or the first FIRST), one a
        line, in table order
        (the naming rules of common/naming.h)
  slices ARRAYS.json K
        the names cut into K hostlists, one a line, each covering a slice
        of every nodearray (how slurmctld hands a burst over: one hostlist
        per ResumeProgram call)
  hostlist
        the names on stdin (one a line) as one hostlist
  slurm-state ARRAYS.json
        a scontrol-recorder state file: every node IDLE+CLOUD+POWERED_DOWN
  told SCONTROL_LOG
        how many nodes the recorder saw a NodeAddr for
  burst --fake-log F --fake-counters F --scontrol-log F --t0 T
        --nodes N [--cpu S]
        the burst figures: cloud calls by endpoint, scontrol calls, time
        from the first shim call to the last address given to Slurm, and
        how long after the fake reported each node Ready Slurm was told
"""

import argparse
import json
import re
import sys


def expand(expr):
    """Every name of a hostlist, brackets anywhere, zero padding kept."""
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out.extend(_expand_one(p))
    return out


def _expand_one(p):
    m = re.search(r"\[([^\]]*)\]", p)
    if not m:
        return [p]
    pre, post = p[:m.start()], p[m.end():]
    res = []
    for r in m.group(1).split(","):
        lo, _, hi = r.partition("-")
        hi = hi or lo
        for i in range(int(lo), int(hi) + 1):
            for tail in _expand_one(post):
                res.append("%s%0*d%s" % (pre, len(lo), i, tail))
    return res


def compress(names):
    """A hostlist of names sharing prefixes (not Slurm-exact; it only has
    to be a valid expression for the shim)."""
    runs = []   # [prefix, first, last]
    for name in names:
        m = re.match(r"^(.*?)(\d+)$", name)
        if not m or m.group(2).startswith("0"):
            runs.append([name, None, None])
            continue
        pre, num = m.group(1), int(m.group(2))
        if runs and runs[-1][0] == pre and runs[-1][2] == num - 1:
            runs[-1][2] = num
        else:
            runs.append([pre, num, num])
    out = []
    for pre, lo, hi in runs:
        if lo is None:
            out.append(pre)
        elif lo == hi:
            out.append("%s%d" % (pre, lo))
        else:
            out.append("%s[%d-%d]" % (pre, lo, hi))
    return ",".join(out)


def config_for(name, slurm, nbytes):
    """A Configuration like a real node's: slurm, cyclecloud and site keys,
    padded with site-looking settings to about nbytes of JSON."""
    conf = {
        "slurm": slurm,
        "cyclecloud": {
            "hosts": {"standalone_dns": {"enabled": False}},
            "mounts": {"sched": {"type": "nfs", "mountpoint": "/sched",
                                 "export_path": "/sched"},
                       "shared": {"type": "nfs", "mountpoint": "/shared",
                                  "export_path": "/shared"}},
            "maintenance_converge": {"enabled": False},
            "selinux": {"policy": "permissive"},
            "cluster": {"autoscale": {"idle_time_after_jobs": 300,
                                      "idle_time_before_jobs": 900}},
        },
        "site": {},
    }
    i = 0
    while len(json.dumps(conf)) < nbytes:
        conf["site"]["setting_%03d" % i] = "value-%s-%03d" % (name, i)
        i += 1
    return conf


def cmd_arrays(a):
    if a.total < a.narrays or a.narrays < 1:
        sys.exit("bench_report: --total must be >= --narrays >= 1")
    kinds = [
        ("hpc", "Standard_HB120rs_v3", 120, 448, True, 100),
        ("htc", "Standard_F2s_v2", 2, 4.0, False, 100),
        ("hpcb", "Standard_HB176rs_v4", 176, 688, True, 100),
        ("htcb", "Standard_D4s_v5", 4, 16, False, 100),
    ]
    arrays = []
    for k in range(a.narrays):
        name, mt, vcpu, mem, hpc, ss = kinds[k % len(kinds)]
        if k >= len(kinds):
            name = "%s%d" % (name, k)
        count = a.total // a.narrays + (k < a.total % a.narrays)
        slurm = {"autoscale": True, "hpc": hpc, "partition": name}
        if k == 0:
            slurm["default_partition"] = True
        arrays.append({
            "name": name, "machineType": mt, "vcpuCount": vcpu,
            "pcpuCount": vcpu, "gpuCount": 0, "memoryGB": mem,
            "infiniband": hpc, "maxCount": count, "maxScalesetSize": ss,
            "shutdownPolicy": "Terminate",
            "configuration": config_for(name, slurm, a.config_bytes),
            "precreate": a.precreate})
    json.dump({"nodearrays": arrays}, sys.stdout, indent=1)
    sys.stdout.write("\n")


def array_names(arr):
    slurm = arr.get("configuration", {}).get("slurm", {})
    if not slurm.get("autoscale", False):
        return []
    ss = arr.get("maxScalesetSize", 40)
    out = []
    for k in range(arr["maxCount"]):
        if slurm.get("hpc", True):
            p, i = divmod(k, ss)
            out.append("%s-pg%d-%d" % (arr["name"], p, i + 1))
        else:
            out.append("%s-%d" % (arr["name"], k + 1))
    return out


def load_names(path):
    with open(path) as f:
        d = json.load(f)
    return [array_names(arr) for arr in d["nodearrays"]]


def cmd_names(a):
    names = [n for per in load_names(a.arrays) for n in per]
    if a.first is not None:
        names = names[:a.first]
    sys.stdout.write("".join(n + "\n" for n in names))


def cmd_slices(a):
    per_array = load_names(a.arrays)
    for s in range(a.k):
        chunk = []
        for names in per_array:
            lo = len(names) * s // a.k
            hi = len(names) * (s + 1) // a.k
            chunk.extend(names[lo:hi])
        if chunk:
            print(compress(chunk))


def cmd_hostlist(a):
    print(compress([line.strip() for line in sys.stdin if line.strip()]))


def cmd_slurm_state(a):
    nodes = [{"name": n, "state": "IDLE+CLOUD+POWERED_DOWN", "addr": n}
             for names in load_names(a.arrays) for n in names]
    json.dump({"nodes": nodes}, sys.stdout)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    rank = max(1, min(len(xs), int(p / 100.0 * len(xs) + 0.999999)))
    return xs[rank - 1]


def read_told(path):
    """(name -> first time Slurm got its NodeAddr, calls, NodeAddr calls)
    from a scontrol-recorder log."""
    told = {}
    total = addr = 0
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            argv = rec["argv"]
            total += 1
            if argv[:1] != ["update"]:
                continue
            kv = dict(x.split("=", 1) for x in argv[1:] if "=" in x)
            if "NodeAddr" not in kv or "NodeName" not in kv:
                continue
            addr += 1
            for n in expand(kv["NodeName"]):
                told.setdefault(n, rec["time"])
    return told, total, addr


def cmd_told(a):
    print(len(read_told(a.scontrol_log)[0]))


def cmd_burst(a):
    with open(a.fake_log) as f:
        log = json.load(f)["requests"]
    with open(a.fake_counters) as f:
        counters = json.load(f)
    told, sc_total, sc_addr = read_told(a.scontrol_log)
    ready = {}
    polls = []
    for r in log:
        path, body = r["path"], r["body"] or {}
        if r["method"] == "GET" and "/nodes?operation=" in path:
            polls.append(r["time"])
        if r["method"] != "POST" or r["status"] != 202:
            continue
        if path.endswith("/nodes/create"):
            for s in body.get("sets", []):
                fmt = s.get("nameFormat", s["nodearray"] + "-%d")
                off = s.get("nameOffset", 1)
                for i in range(s["count"]):
                    ready.setdefault(fmt.replace("%d", str(off + i)),
                                     r["time"])
        elif path.endswith("/nodes/start"):
            for n in body.get("names", []):
                ready.setdefault(n, r["time"])
    polls.sort()
    lat, seen_lat = [], []
    for n, t in told.items():
        if n not in ready:
            continue
        lat.append(t - ready[n])
        seen = next((p for p in polls if p >= ready[n]), None)
        if seen is not None:
            seen_lat.append(t - seen)
    req = counters["requests"]
    print("burst: %d nodes, %d shim calls" % (a.nodes, a.shim_calls))
    print("  cloud calls    create %d  start %d  polls (nodes?operation=) "
          "%d  operation %d  status %d  total %d  (new TCP connections %d)" % (
              req["create"], req["start"], req["nodes"], req["operation"],
              req["status"], req["total"], counters["api_connections"]))
    print("  nodes          created %d  booted %d  ready->told %d/%d" % (
        len(counters["node_creates"]), len(counters["node_starts"]),
        len(lat), a.nodes))
    print("  scontrol calls %d (%d update NodeAddr)" % (sc_total, sc_addr))
    if told:
        print("  first shim call -> last NodeAddr update  %.3f s" % (
            max(told.values()) - a.t0))
    if lat:
        print("  fake Ready -> Slurm told   p50 %.3f s  max %.3f s" % (
            pct(lat, 50), max(lat)))
    if seen_lat:
        print("  poll that saw Ready -> Slurm told   p50 %.3f s  max %.3f s"
              % (pct(seen_lat, 50), max(seen_lat)))
    ups = sorted(set(told.values()))
    if ups and polls:
        before = [p for p in polls if p <= ups[0]]
        if before:
            print("  poll answered -> first NodeAddr update  %.3f s;  the %d "
                  "updates (run one at a time) span %.3f s" % (
                      ups[0] - before[-1], len(ups), ups[-1] - ups[0]))
    if a.cpu is not None:
        print("  daemon CPU     %.2f s (user+system)" % a.cpu)
    if len(told) != a.nodes or len(lat) != a.nodes:
        sys.stderr.write("bench_report: only %d of %d nodes told, %d with "
                         "a ready time\n" % (len(told), a.nodes, len(lat)))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("arrays")
    p.add_argument("--total", type=int, required=True)
    p.add_argument("--narrays", type=int, default=4)
    p.add_argument("--config-bytes", type=int, default=2048)
    p.add_argument("--precreate", action="store_true")
    p = sub.add_parser("names")
    p.add_argument("arrays")
    p.add_argument("first", type=int, nargs="?")
    p = sub.add_parser("slices")
    p.add_argument("arrays")
    p.add_argument("k", type=int)
    p = sub.add_parser("hostlist")
    p = sub.add_parser("slurm-state")
    p.add_argument("arrays")
    p = sub.add_parser("told")
    p.add_argument("scontrol_log")
    p = sub.add_parser("burst")
    p.add_argument("--fake-log", required=True)
    p.add_argument("--fake-counters", required=True)
    p.add_argument("--scontrol-log", required=True)
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--nodes", type=int, required=True)
    p.add_argument("--shim-calls", type=int, default=0)
    p.add_argument("--cpu", type=float)
    a = ap.parse_args()
    return {"arrays": cmd_arrays, "names": cmd_names, "slices": cmd_slices,
            "hostlist": cmd_hostlist,
            "slurm-state": cmd_slurm_state, "told": cmd_told,
            "burst": cmd_burst}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main() or 0)
