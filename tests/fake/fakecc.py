#!/usr/bin/python3
"""fakecc: the fake Azure CycleCloud REST server the ccslurmd tests run against.

It implements /work/shared/spec/cyclecloud-api.md (the endpoints, the wire
field names, and the "where the public record is silent" rules) plus a control
API under /__fake/ for tests: counters, a request log, fault injection and
run-time configuration.  tests/fake/README.md is the contract; read it before
changing behaviour here.

Python 3 standard library only.  One lock guards the whole model; the node life
cycle is driven by a heap of timed events, advanced by a ticker thread every
50 ms and lazily at the start of every request, so a request always sees the
state its time implies and no step is O(nodes) per event.
"""

import argparse
import base64
import copy
import hashlib
import heapq
import hmac
import http.server
import ipaddress
import itertools
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque

TICK = 0.05                   # ticker period, seconds
DEFAULT_MAX_BODY = 8 << 20    # request body limit, bytes
LOG_KEEP = 200000             # request log entries kept for /__fake/log
HOOK_TIMEOUT = 600            # seconds an on-ready/on-stop hook may run
MAX_CREATE = 100000           # nodes one create request may ask for

ENDPOINTS = ("status", "nodes", "create", "start", "shutdown", "deallocate",
             "terminate", "remove", "operation")
ACTIONS = ("start", "shutdown", "deallocate", "terminate", "remove")

# A node holding (or about to hold, or releasing) a VM counts against its
# nodearray's maxCount and its placement group's MaxScalesetSize.
ACTIVE = frozenset(("Acquiring", "Preparing", "Ready", "Terminating"))

# Public node fields in the order they are shown.
NODE_FIELDS = ("Name", "NodeId", "Template", "MachineType", "Status", "State",
               "TargetState", "PrivateIp", "Hostname", "PlacementGroupId",
               "InstanceId", "Configuration", "KeepAlive", "Fixed",
               "ShutdownPolicy", "RequestId", "StatusMessage")
# nodeAttributes a create may not set: the fake owns them.
RESERVED_ATTRS = frozenset(("Name", "NodeId", "Template", "MachineType",
                            "Status", "State", "TargetState", "PrivateIp",
                            "Hostname", "PlacementGroupId", "InstanceId",
                            "RequestId", "StatusMessage"))


class Invalid(Exception):
    """Bad input: answered with .status and a {"Message": ...} body."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def iso_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % int((t % 1) * 1000)


# ---- IP pool ---------------------------------------------------------------

class IpPool:
    """Addresses handed to nodes, lowest free first.  They are data only: the
    fake never contacts them.  Spec: a CIDR (network and broadcast excluded),
    a range A-B, a single address, or a comma-separated list of those."""

    def __init__(self, spec):
        self.ranges = []  # (first int, count)
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            if "/" in part:
                net = ipaddress.ip_network(part, strict=False)
                first, last = int(net.network_address), int(
                    net.broadcast_address)
                if net.num_addresses > 2:
                    first, last = first + 1, last - 1
            elif "-" in part:
                a, b = part.split("-", 1)
                first = int(ipaddress.ip_address(a.strip()))
                last = int(ipaddress.ip_address(b.strip()))
                if last < first:
                    raise ValueError("empty range %s" % part)
            else:
                first = last = int(ipaddress.ip_address(part))
            self.ranges.append((first, last - first + 1))
        self.size = sum(c for _, c in self.ranges)
        if self.size == 0:
            raise ValueError("empty IP pool")
        self.next = 0       # lowest index never handed out
        self.freed = []     # heap of released indices
        self.taken = set()

    def _addr(self, idx):
        for first, count in self.ranges:
            if idx < count:
                return str(ipaddress.ip_address(first + idx))
            idx -= count
        raise IndexError(idx)

    def take(self):
        """Returns (index, address) or None when the pool is exhausted."""
        while self.freed:
            idx = heapq.heappop(self.freed)
            if idx not in self.taken:
                self.taken.add(idx)
                return idx, self._addr(idx)
        if self.next >= self.size:
            return None
        idx = self.next
        self.next += 1
        self.taken.add(idx)
        return idx, self._addr(idx)

    def release(self, idx):
        if idx in self.taken:
            self.taken.discard(idx)
            heapq.heappush(self.freed, idx)

    def reset(self):
        self.next = 0
        self.freed = []
        self.taken = set()


# ---- the filter language -------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>&&|\|\||==|!=|[{}(),!])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""", re.X)


def _tokenize(text):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Invalid(400, "filter: unexpected input at offset %d: %r"
                          % (pos, text[pos:pos + 20]))
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "str":
            val = json.loads(val)
        elif kind == "num":
            val = float(val) if "." in val else int(val)
        elif kind == "word" and val in ("true", "false", "null", "in"):
            kind = val if val == "in" else "lit"
            val = {"true": True, "false": False, "null": None}.get(val, val)
        out.append((kind, val))
    return out


class Filter:
    """Node filter expressions as CycleCloud's docs show them:
        Name in {"a","b"} && State == "Terminated"
    Grammar: expr := and ('||' and)*; and := unary ('&&' unary)*;
    unary := '!' unary | '(' expr ')' | ATTR ('=='|'!=') VALUE |
    ATTR 'in' '{' VALUE (',' VALUE)* '}'; VALUE := string|number|true|false|
    null.  An absent attribute compares as null.  Anything else is a 400."""

    def __init__(self, text):
        if not isinstance(text, str) or not text.strip():
            raise Invalid(400, "filter: must be a non-empty string")
        self.toks = _tokenize(text)
        self.i = 0
        self.fn = self._expr()
        if self.i != len(self.toks):
            raise Invalid(400, "filter: unexpected %r" %
                          (self.toks[self.i][1],))

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _take(self, kind=None, val=None):
        k, v = self._peek()
        if k is None or (kind and k != kind) or (val is not None and v != val):
            raise Invalid(400, "filter: expected %s" % (val or kind))
        self.i += 1
        return v

    def _expr(self):
        parts = [self._and()]
        while self._peek() == ("op", "||"):
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else \
            (lambda n: any(p(n) for p in parts))

    def _and(self):
        parts = [self._unary()]
        while self._peek() == ("op", "&&"):
            self.i += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else \
            (lambda n: all(p(n) for p in parts))

    def _value(self):
        k, v = self._peek()
        if k not in ("str", "num", "lit"):
            raise Invalid(400, "filter: expected a value")
        self.i += 1
        return v

    def _unary(self):
        k, v = self._peek()
        if (k, v) == ("op", "!"):
            self.i += 1
            inner = self._unary()
            return lambda n: not inner(n)
        if (k, v) == ("op", "("):
            self.i += 1
            inner = self._expr()
            self._take("op", ")")
            return inner
        attr = self._take("word")
        k, v = self._peek()
        if (k, v) in (("op", "=="), ("op", "!=")):
            self.i += 1
            want = self._value()
            if v == "==":
                return lambda n: _attr(n, attr) == want
            return lambda n: _attr(n, attr) != want
        if k == "in":
            self.i += 1
            self._take("op", "{")
            vals = [self._value()]
            while self._peek() == ("op", ","):
                self.i += 1
                vals.append(self._value())
            self._take("op", "}")
            return lambda n: _attr(n, attr) in vals
        raise Invalid(400, "filter: expected ==, != or in after %s" % attr)

    def __call__(self, pub):
        return bool(self.fn(pub))


# ---- the model -------------------------------------------------------------

class NodeArray:
    def __init__(self, d, index):
        def need(key, typ):
            if key not in d:
                raise ValueError("nodearrays[%d]: %s is required" %
                                 (index, key))
            v = d[key]
            if typ is int and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError("nodearrays[%d].%s: integer expected" %
                                 (index, key))
            if typ is str and (not isinstance(v, str) or not v):
                raise ValueError("nodearrays[%d].%s: string expected" %
                                 (index, key))
            return v

        self.name = need("name", str)
        mt = need("machineType", str) if not isinstance(
            d.get("machineType"), list) else d["machineType"]
        self.machine_types = mt if isinstance(mt, list) else \
            [m.strip() for m in mt.split(",")]
        self.machine_type = self.machine_types[0]
        self.vcpu = need("vcpuCount", int)
        self.pcpu = d.get("pcpuCount", self.vcpu)
        self.gpu = d.get("gpuCount", 0)
        self.memory = float(need("memoryGB", (int, float)))
        self.infiniband = bool(d.get("infiniband", False))
        self.max_count = need("maxCount", int)
        self.max_ss = d.get("maxScalesetSize", 40)
        self.quota = d.get("quotaCount", self.max_count)
        self.policy = d.get("shutdownPolicy", "Terminate")
        if self.policy not in ("Terminate", "Deallocate"):
            raise ValueError("nodearrays[%d].shutdownPolicy: Terminate or "
                             "Deallocate" % index)
        self.configuration = d.get("configuration", {})
        self.precreate = bool(d.get("precreate", False))
        self.max_core = self.max_count * self.vcpu
        slurm = self.configuration.get("slurm", {})
        self.hpc = bool(slurm.get("hpc", True))
        self.autoscale = bool(slurm.get("autoscale", False))
        self.record = {
            "Name": self.name,
            "MachineType": mt,
            "Configuration": self.configuration,
            "Azure": {"MaxScalesetSize": self.max_ss},
            "ShutdownPolicy": self.policy,
            "MaxCount": self.max_count,
        }
        self.last_capacity_failure = None  # monotonic time


class Node:
    __slots__ = ("pub", "array", "gen", "ip_idx", "hooked", "fail_msg")

    def __init__(self, pub, array):
        self.pub = pub          # the wire record, mutated in place
        self.array = array
        self.gen = 0            # bumps on every boot/stop: stale events drop
        self.ip_idx = None
        self.hooked = False     # its on-ready hook ran (a VM "is up")
        self.fail_msg = None


class Model:
    """Everything behind the API.  Callers hold .lock."""

    def __init__(self, args, arrays):
        self.lock = threading.Lock()
        self.args = args
        self.cluster = args.cluster
        self.arrays = arrays
        self.pool = IpPool(args.ip_pool)
        self.hooks = []         # (event, node pub copy, gen) to run unlocked
        self.reset()

    # -- state ------------------------------------------------------------
    def reset(self):
        a = self.args
        self.delays = {"acquire_delay": a.acquire_delay,
                       "prepare_delay": a.prepare_delay,
                       "ip_delay": a.ip_delay, "stop_delay": a.stop_delay}
        self.nodes = {}         # name -> Node
        self.by_id = {}         # NodeId -> Node
        self.ops = {}           # operationId -> dict
        self.request_ids = {}   # requestId -> operationId
        self.events = []        # heap (due, seq, name, gen, kind)
        self.seq = itertools.count()
        self.active = {a: 0 for a in self.arrays}
        self.pg_active = {}     # placement group -> active nodes
        self.pg_nodes = {}      # placement group -> (array, existing nodes)
        self.faults = []
        self.capacity = {}      # array -> [count, message]
        self.failing = []       # [array or None, count, message]
        self.pool.reset()
        for a in self.arrays.values():
            a.last_capacity_failure = None
        self.reset_counters()
        for a in self.arrays.values():
            if a.precreate:
                self._precreate(a)

    def reset_counters(self):
        self.counters = {"connections": 0, "api_connections": 0,
                         "requests": {k: 0 for k in ENDPOINTS +
                                      ("unauthorized", "total")},
                         "node_starts": {}, "node_creates": {},
                         "hooks": {"ready_ok": 0, "ready_failed": 0,
                                   "stop_ok": 0, "stop_failed": 0}}
        self.log = deque(maxlen=LOG_KEEP)

    def _precreate(self, a):
        """The seed's names: {array}-pg{P}-{i} (hpc) or {array}-{i}."""
        for k in range(a.max_count):
            if a.hpc:
                p, i = divmod(k, a.max_ss)
                name = "%s-pg%d-%d" % (a.name, p, i + 1)
                pg = "%s-%s-pg%d" % (a.name, a.machine_type, p)
            else:
                name, pg = "%s-%d" % (a.name, k + 1), None
            self._new_node(a, name, pg, {"Fixed": True}, None)

    def _new_node(self, a, name, pg, attrs, request_id):
        pub = {"Name": name, "NodeId": str(uuid.uuid4()), "Template": a.name,
               "MachineType": a.machine_type, "Status": "Off",
               "TargetState": "Off"}
        if pg:
            pub["PlacementGroupId"] = pg
        pub["Configuration"] = a.configuration
        pub["KeepAlive"] = False
        pub["Fixed"] = False
        pub["ShutdownPolicy"] = a.policy
        if request_id is not None:
            pub["RequestId"] = request_id
        for k, v in attrs.items():
            if k == "StartAutomatically":
                continue
            if k == "Configuration":
                merged = copy.deepcopy(a.configuration)
                _merge(merged, v)
                v = merged
            pub[k] = v
        node = Node(pub, a)
        self.nodes[name] = node
        self.by_id[pub["NodeId"]] = node
        if pg:
            arr, n = self.pg_nodes.get(pg, (a.name, 0))
            self.pg_nodes[pg] = (arr, n + 1)
        c = self.counters["node_creates"]
        c[name] = c.get(name, 0) + 1
        return node

    def _drop_node(self, node):
        pub = node.pub
        self.nodes.pop(pub["Name"], None)
        self.by_id.pop(pub["NodeId"], None)
        pg = pub.get("PlacementGroupId")
        if pg in self.pg_nodes:
            arr, n = self.pg_nodes[pg]
            if n <= 1:
                del self.pg_nodes[pg]
            else:
                self.pg_nodes[pg] = (arr, n - 1)
        if node.ip_idx is not None:
            self.pool.release(node.ip_idx)
            node.ip_idx = None

    def _set_status(self, node, status):
        old = node.pub.get("Status")
        was, now = old in ACTIVE, status in ACTIVE
        node.pub["Status"] = status
        if was != now:
            d = 1 if now else -1
            self.active[node.array.name] += d
            pg = node.pub.get("PlacementGroupId")
            if pg:
                self.pg_active[pg] = self.pg_active.get(pg, 0) + d

    def _schedule(self, node, delay, kind, now):
        heapq.heappush(self.events, (now + delay, next(self.seq),
                                     node.pub["Name"], node.gen, kind))

    # -- capacity ---------------------------------------------------------
    def _refusal(self, a, pg, now):
        """Why a node of array a (placement group pg) may not boot now, or
        None.  Boots granted earlier in the same request already count."""
        if self.active[a.name] >= min(a.max_count, a.quota):
            return ("nodearray %s: maxCount %d active nodes reached" %
                    (a.name, min(a.max_count, a.quota)))
        if pg and self.pg_active.get(pg, 0) >= a.max_ss:
            return ("placement group %s: MaxScalesetSize %d reached" %
                    (pg, a.max_ss))
        cap = self.capacity.get(a.name)
        if cap and cap[0] > 0:
            cap[0] -= 1
            a.last_capacity_failure = now
            return cap[1]
        return None

    def _boot(self, node, now):
        pub = node.pub
        a = node.array
        from_dealloc = pub.get("Status") == "Deallocated"
        node.gen += 1
        node.hooked = False
        node.fail_msg = None
        pub.pop("StatusMessage", None)
        self._set_status(node, "Acquiring")
        pub["State"] = "Allocating"
        pub["TargetState"] = "Started"
        c = self.counters["node_starts"]
        c[pub["Name"]] = c.get(pub["Name"], 0) + 1
        for f in self.failing:
            if f[1] > 0 and f[0] in (None, a.name):
                f[1] -= 1
                node.fail_msg = f[2]
                self._schedule(node, self.delays["acquire_delay"], "failed",
                               now)
                return
        acq = self.delays["acquire_delay"]
        if from_dealloc:
            acq /= 2  # the disk is kept: a restart is faster
        total = acq + self.delays["prepare_delay"]
        if "PrivateIp" not in pub:
            self._schedule(node, min(self.delays["ip_delay"], total), "ip",
                           now)
        self._schedule(node, acq, "preparing", now)
        self._schedule(node, total, "ready", now)

    def _stop(self, node, target, now):
        pub = node.pub
        node.gen += 1
        self._set_status(node, "Terminating")
        pub["State"] = "Terminating"
        pub["TargetState"] = target
        if node.hooked and self.args.on_stop:
            self.hooks.append(("stop", dict(pub), node.gen))
        node.hooked = False
        self._schedule(node, self.delays["stop_delay"], "stopped", now)

    def _fail(self, node, msg):
        self._set_status(node, "Failed")
        node.pub["State"] = "Failed"
        node.pub["StatusMessage"] = msg

    def advance(self, now=None):
        """Applies every life-cycle event due by now."""
        if now is None:
            now = time.monotonic()
        ev = self.events
        while ev and ev[0][0] <= now:
            due, _, name, gen, kind = heapq.heappop(ev)
            node = self.nodes.get(name)
            if node is None or node.gen != gen:
                continue
            self._event(node, kind, now)

    def _event(self, node, kind, now):
        pub = node.pub
        if kind == "ip":
            if "PrivateIp" not in pub:
                got = self.pool.take()
                if got is None:
                    node.gen += 1
                    self._fail(node, "no free address in the IP pool")
                    return
                node.ip_idx, pub["PrivateIp"] = got
                pub["Hostname"] = pub["Name"]
                pub["InstanceId"] = "fake-vm-%s" % uuid.uuid4().hex[:16]
        elif kind == "preparing":
            self._set_status(node, "Preparing")
            pub["State"] = "Starting"
        elif kind == "ready":
            if "PrivateIp" not in pub:  # ip_delay == acquire + prepare
                self._event(node, "ip", now)
                if pub["Status"] == "Failed":
                    return
            self._set_status(node, "Ready")
            pub["State"] = "Started"
            if self.args.on_ready:
                node.hooked = True
                self.hooks.append(("ready", dict(pub), node.gen))
        elif kind == "failed":
            self._fail(node, node.fail_msg or "node failed to start")
        elif kind == "stopped":
            if pub.get("TargetState") == "Deallocated":
                self._set_status(node, "Deallocated")
                pub["State"] = "Deallocated"
                return
            self._set_status(node, "Off")
            if not pub.get("Fixed"):
                self._drop_node(node)
                return
            pub["State"] = "Terminated"
            pub["TargetState"] = "Terminated"
            for k in ("PrivateIp", "Hostname", "InstanceId"):
                pub.pop(k, None)
            if node.ip_idx is not None:
                self.pool.release(node.ip_idx)
                node.ip_idx = None

    def hook_failed(self, name, gen, msg):
        node = self.nodes.get(name)
        if node and node.gen == gen and node.pub["Status"] == "Ready":
            node.gen += 1
            node.hooked = False
            self._fail(node, msg)

    # -- operations ---------------------------------------------------------
    def _claim_request_id(self, body):
        rid = body.get("requestId")
        if rid is None:
            return None
        if not isinstance(rid, str) or not rid:
            raise Invalid(409, "requestId must be a non-empty string")
        if rid in self.request_ids:
            raise Invalid(409, "requestId %s has already been used by "
                          "operation %s" % (rid, self.request_ids[rid]))
        return rid

    def _new_op(self, action, rid, ids):
        opid = str(uuid.uuid4())
        self.ops[opid] = {"action": action, "startTime": iso_now(),
                          "requestId": rid, "ids": ids}
        if rid is not None:
            self.request_ids[rid] = opid
        return opid

    def create(self, body, now):
        rid = self._claim_request_id(body)
        sets = body.get("sets")
        if not isinstance(sets, list) or not sets:
            raise Invalid(409, "sets: a non-empty list is required")
        plans, total, seen = [], 0, set()
        for i, s in enumerate(sets):
            plans.append(self._plan_set(i, s, seen))
            total += plans[-1][1]
            if total > MAX_CREATE:
                raise Invalid(409, "at most %d nodes per request" %
                              MAX_CREATE)
        # Valid: from here on the request changes the model.
        ids, results = [], []
        for a, count, names, pg, attrs, skipped in plans:
            added, msgs = 0, []
            if skipped:
                msgs.append("%d node(s) already exist: %s" % (
                    len(skipped), _short(skipped)))
            start = attrs.get("StartAutomatically", True)
            refused = None
            for name in names:
                if start:
                    why = self._refusal(a, pg, now)
                    if why:
                        refused = refused or why
                        continue
                node = self._new_node(a, name, pg, attrs, rid)
                if start:
                    self._boot(node, now)
                ids.append(node.pub["NodeId"])
                added += 1
            if refused:
                msgs.append("%d node(s) not added: %s" %
                            (len(names) - added, refused))
            r = {"added": added}
            if msgs:
                r["message"] = "; ".join(msgs)
            results.append(r)
        opid = self._new_op("create", rid, ids)
        return opid, {"operationId": opid, "sets": results}

    def _plan_set(self, i, s, seen):
        where = "sets[%d]" % i
        if not isinstance(s, dict):
            raise Invalid(409, "%s: object expected" % where)
        a = self.arrays.get(s.get("nodearray"))
        if a is None:
            raise Invalid(409, "%s.nodearray: unknown nodearray %r" %
                          (where, s.get("nodearray")))
        count = s.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or \
                count < 0:
            raise Invalid(409, "%s.count: a non-negative integer is "
                          "required" % where)
        d = s.get("definition")
        if d is not None:
            if not isinstance(d, dict):
                raise Invalid(409, "%s.definition: object expected" % where)
            mt = d.get("machineType")
            if mt is not None and mt not in a.machine_types:
                raise Invalid(409, "%s.definition.machineType: %r is not a "
                              "machine type of nodearray %s" %
                              (where, mt, a.name))
        fmt = s.get("nameFormat", a.name + "-%d")
        if not isinstance(fmt, str) or not fmt:
            raise Invalid(409, "%s.nameFormat: string expected" % where)
        rest = fmt.replace("%d", "", 1)
        if "%" in rest or not re.fullmatch(r"[A-Za-z0-9._-]+", rest or "x"):
            raise Invalid(409, "%s.nameFormat: %r must be a host name with "
                          "at most one %%d" % (where, fmt))
        literal = "%d" not in fmt
        if literal and count > 1:
            raise Invalid(409, "%s.nameFormat: %r has no %%d, so count must "
                          "be 1" % (where, fmt))
        off = s.get("nameOffset")
        if off is not None and (not isinstance(off, int) or
                                isinstance(off, bool) or off < 0):
            raise Invalid(409, "%s.nameOffset: a non-negative integer is "
                          "required" % where)
        pg = s.get("placementGroupId")
        if pg is not None:
            if not isinstance(pg, str) or not pg:
                raise Invalid(409, "%s.placementGroupId: string expected" %
                              where)
            owner = self.pg_nodes.get(pg)
            if owner and owner[0] != a.name:
                raise Invalid(409, "%s.placementGroupId: %s belongs to "
                              "nodearray %s" % (where, pg, owner[0]))
        attrs = s.get("nodeAttributes", {})
        if not isinstance(attrs, dict):
            raise Invalid(409, "%s.nodeAttributes: object expected" % where)
        for k, v in attrs.items():
            if k in RESERVED_ATTRS:
                raise Invalid(409, "%s.nodeAttributes.%s cannot be set" %
                              (where, k))
            if k in ("StartAutomatically", "Fixed", "KeepAlive") and \
                    not isinstance(v, bool):
                raise Invalid(409, "%s.nodeAttributes.%s: boolean expected"
                              % (where, k))
            if k == "Configuration" and not isinstance(v, dict):
                raise Invalid(409, "%s.nodeAttributes.Configuration: object "
                              "expected" % where)
        names, skipped = [], []
        if literal:
            cand = [fmt] if count else []
        elif off is not None:
            cand = [fmt.replace("%d", str(off + k)) for k in range(count)]
        else:
            cand = []
        if literal or off is not None:
            for n in cand:
                if n in self.nodes or n in seen:
                    skipped.append(n)
                else:
                    names.append(n)
        else:
            k = 1  # lowest free indices from 1
            while len(names) < count:
                n = fmt.replace("%d", str(k))
                if n not in self.nodes and n not in seen:
                    names.append(n)
                k += 1
        seen.update(names)
        return (a, count, names, pg, attrs, skipped)

    def select(self, body):
        """The nodes a NodeManagementRequest names, in request order, and
        entries for names/ids/hostnames/addresses that match nothing."""
        keys = ("names", "ids", "hostnames", "ip_addresses")
        if not any(k in body for k in keys + ("filter",)):
            raise Invalid(409, "no nodes selected: give names, ids, "
                          "hostnames, ip_addresses or filter")
        for k in keys:
            v = body.get(k, [])
            if not isinstance(v, list) or \
                    not all(isinstance(x, str) for x in v):
                raise Invalid(409, "%s: a list of strings is expected" % k)
        flt = Filter(body["filter"]) if "filter" in body else None
        out, missing, got = [], [], set()

        def add(node):
            if id(node) not in got:
                got.add(id(node))
                out.append(node)

        for n in body.get("names", []):
            node = self.nodes.get(n)
            add(node) if node else missing.append(("name", n))
        for n in body.get("ids", []):
            node = self.by_id.get(n)
            add(node) if node else missing.append(("id", n))
        for key, field in (("hostnames", "Hostname"),
                           ("ip_addresses", "PrivateIp")):
            want = body.get(key, [])
            if want:
                index = {}
                for node in self.nodes.values():
                    v = node.pub.get(field)
                    if v is not None:
                        index.setdefault(v, node)
                for w in want:
                    node = index.get(w)
                    add(node) if node else missing.append((field, w))
        if flt:
            for node in self.nodes.values():
                if flt(node.pub):
                    add(node)
        return out, missing

    def manage(self, action, body, now):
        rid = self._claim_request_id(body)
        nodes, missing = self.select(body)
        results, ids = [], []
        for node in nodes:
            pub = node.pub
            err = self._act(action, node, now)
            r = {"id": pub["NodeId"], "name": pub["Name"]}
            if err:
                r["status"] = "Error"
                r["error"] = err
            else:
                r["status"] = "OK"
                ids.append(pub["NodeId"])
            results.append(r)
        for field, val in missing:
            r = {"status": "Error", "error": "no node with %s %s" %
                 (field, val)}
            if field == "name":
                r["name"] = val
            elif field == "id":
                r["id"] = val
            results.append(r)
        opid = self._new_op(action, rid, ids)
        return opid, {"operationId": opid, "nodes": results}

    def _act(self, action, node, now):
        st = node.pub.get("Status")
        if action == "start":
            if st in ("Acquiring", "Preparing", "Ready"):
                return None
            if st == "Terminating":
                return ("node is Terminating: start it again once it is "
                        "Off or Deallocated")
            why = self._refusal(node.array, node.pub.get("PlacementGroupId"),
                                now)
            if why:
                return why
            self._boot(node, now)
            return None
        if action == "remove":
            if st != "Off":
                return "This node must be terminated before it can be removed"
            self._drop_node(node)
            return None
        target = {"terminate": "Terminated", "deallocate": "Deallocated",
                  "shutdown": "Deallocated" if node.pub.get(
                      "ShutdownPolicy") == "Deallocate" else "Terminated"
                  }[action]
        if st == "Off" or st == "Terminating":
            return None
        if st == "Deallocated" and target == "Deallocated":
            return None
        self._stop(node, target, now)
        return None

    # -- views ------------------------------------------------------------
    def status(self, with_nodes, now):
        arrays = []
        for a in self.arrays.values():
            active = self.active[a.name]
            limit = min(a.max_count, a.quota)
            pgs = [{"name": pg, "activeCount": self.pg_active.get(pg, 0)}
                   for pg, (arr, _) in sorted(self.pg_nodes.items())
                   if arr == a.name]
            lcf = -1 if a.last_capacity_failure is None else \
                round(now - a.last_capacity_failure, 3)
            bucket = {
                "bucketId": hashlib.sha1((self.cluster + "/" + a.name).encode()
                                         ).hexdigest()[:16],
                "definition": {"machineType": a.machine_type},
                "maxCount": a.max_count,
                "maxCoreCount": a.max_core,
                "activeCount": active,
                "activeCoreCount": active * a.vcpu,
                "availableCount": max(0, limit - active),
                "availableCoreCount": max(0, limit - active) * a.vcpu,
                "quotaCount": a.quota,
                "quotaCoreCount": a.quota * a.vcpu,
                "maxPlacementGroupSize": a.max_ss,
                "maxPlacementGroupCoreSize": a.max_ss * a.vcpu,
                "placementGroups": pgs,
                "valid": True,
                "lastCapacityFailure": lcf,
                "virtualMachine": {"vcpuCount": a.vcpu, "pcpuCount": a.pcpu,
                                   "gpuCount": a.gpu, "memory": a.memory,
                                   "infiniband": a.infiniband},
            }
            if with_nodes:
                bucket["activeNodes"] = [
                    n.pub["Name"] for n in self.nodes.values()
                    if n.array is a and n.pub["Status"] in ACTIVE]
            arrays.append({"name": a.name, "maxCount": a.max_count,
                           "maxCoreCount": a.max_core, "nodearray": a.record,
                           "buckets": [bucket]})
        out = {"state": "Started", "targetState": "Started",
               "maxCount": sum(a.max_count for a in self.arrays.values()),
               "maxCoreCount": sum(a.max_core for a in self.arrays.values()),
               "nodearrays": arrays}
        if with_nodes:
            out["nodes"] = self.node_list()
        return out

    def node_list(self, nodes=None):
        # Shallow copies: the JSON encoding happens after the lock is
        # released, while the ticker may change the records.
        return [dict(n.pub) for n in (self.nodes.values() if nodes is None
                                      else nodes)]

    def op_nodes(self, opid):
        op = self.ops[opid]
        nodes = [self.by_id[i] for i in op["ids"] if i in self.by_id]
        return {"nodes": self.node_list(nodes),
                "operation": {"action": op["action"],
                              "startTime": op["startTime"]}}

    # -- faults -------------------------------------------------------------
    def add_fault(self, f):
        kind = f.get("kind")
        count = f.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise Invalid(400, "count: a positive integer is required")
        if kind in ("capacity", "fail_nodes"):
            arr = f.get("nodearray")
            if kind == "capacity" and arr is None:
                raise Invalid(400, "nodearray is required")
            if arr is not None and arr not in self.arrays:
                raise Invalid(400, "unknown nodearray %r" % (arr,))
            msg = f.get("message")
            if msg is None:
                msg = ("Azure capacity is not available for %s" %
                       self.arrays[arr].machine_type if kind == "capacity"
                       else "the VM failed to provision")
            if not isinstance(msg, str):
                raise Invalid(400, "message: string expected")
            if kind == "capacity":
                self.capacity[arr] = [count, msg]
            else:
                self.failing.append([arr, count, msg])
            return
        if kind not in ("http", "latency", "drop", "hang"):
            raise Invalid(400, "kind: one of http, capacity, fail_nodes, "
                          "latency, drop, hang")
        ep = f.get("endpoint", "*")
        if ep != "*" and ep not in ENDPOINTS:
            raise Invalid(400, "endpoint: * or one of %s" %
                          ", ".join(ENDPOINTS))
        fault = {"kind": kind, "count": count, "endpoint": ep}
        if kind == "http":
            st = f.get("status")
            if not isinstance(st, int) or not 400 <= st <= 599:
                raise Invalid(400, "status: an HTTP error status is required")
            fault["status"] = st
            ra = f.get("retry_after")
            if ra is not None:
                if not isinstance(ra, (int, float)) or ra < 0:
                    raise Invalid(400, "retry_after: seconds expected")
                fault["retry_after"] = ra
        if kind in ("latency", "hang"):
            s = f.get("seconds", 0 if kind == "latency" else None)
            if kind == "latency" and "seconds" not in f:
                raise Invalid(400, "seconds is required")
            if s is not None and (not isinstance(s, (int, float)) or s < 0):
                raise Invalid(400, "seconds: a non-negative number expected")
            fault["seconds"] = s
        if kind == "drop":
            when = f.get("when", "before")
            if when not in ("before", "after"):
                raise Invalid(400, "when: before or after")
            fault["when"] = when
        self.faults.append(fault)

    def take_fault(self, endpoint):
        for f in self.faults:
            if f["count"] > 0 and f["endpoint"] in ("*", endpoint):
                f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
                return f
        return None


def _attr(pub, name):
    """A node attribute for the filter; dotted names reach into objects
    (Configuration.slurm.hpc).  Absent is None."""
    v = pub.get(name)
    if v is None and "." in name:
        v = pub
        for part in name.split("."):
            v = v.get(part) if isinstance(v, dict) else None
    return v


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def _short(names, n=5):
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


# ---- hooks -------------------------------------------------------------------

class Hooks:
    """Runs --on-ready/--on-stop commands off the server's threads, one at a
    time per node and in order (a node's stop never overtakes its ready)."""

    def __init__(self, server):
        self.server = server
        self.lock = threading.Lock()
        self.queues = {}    # node name -> deque of (event, pub, gen)

    def submit(self, items):
        for ev, pub, gen in items:
            name = pub["Name"]
            with self.lock:
                q = self.queues.get(name)
                if q is not None:
                    q.append((ev, pub, gen))
                    continue
                q = self.queues[name] = deque([(ev, pub, gen)])
            threading.Thread(target=self._drain, args=(name, q),
                             daemon=True).start()

    def _drain(self, name, q):
        while True:
            with self.lock:
                if not q:
                    del self.queues[name]
                    return
                ev, pub, gen = q.popleft()
            self._run(ev, pub, gen)

    def _run(self, ev, pub, gen):
        srv = self.server
        cmd = srv.args.on_ready if ev == "ready" else srv.args.on_stop
        env = dict(os.environ)
        env.update(CC_EVENT=ev, CC_NODE_NAME=pub["Name"],
                   CC_NODE_IP=pub.get("PrivateIp", ""),
                   CC_NODE_ARRAY=pub["Template"],
                   CC_NODE_ID=pub["NodeId"], CC_CLUSTER=srv.args.cluster)
        t0 = time.monotonic()
        try:
            p = subprocess.run(["/bin/sh", "-c", cmd], env=env,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               timeout=srv.args.hook_timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            rc, out = "timeout", e.stdout or b""
        except OSError as e:
            rc, out = "error", str(e).encode()
        ok = rc == 0
        srv.logline("hook %s node=%s ip=%s exit=%s %.0fms output=%s" % (
            ev, pub["Name"], pub.get("PrivateIp", "-"), rc,
            (time.monotonic() - t0) * 1000,
            json.dumps(out.decode("utf-8", "replace")[-2000:])))
        with srv.model.lock:
            srv.model.counters["hooks"]["%s_%s" % (
                ev, "ok" if ok else "failed")] += 1
            if ev == "ready" and not ok:
                srv.model.hook_failed(pub["Name"], gen,
                                      "on-ready hook failed (exit %s)" % rc)


# ---- HTTP --------------------------------------------------------------------

class Drop(Exception):
    """Close the connection without an answer."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakecc/1"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this
    # Small answers on a keep-alive connection: without TCP_NODELAY, Nagle
    # and the client's delayed ACK cost ~40 ms a request.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.api_seen = False

    def log_message(self, fmt, *args):
        pass  # one line per request is written by _finish()

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # -- plumbing ---------------------------------------------------------
    def _read_body(self):
        """The request body as bytes; raises Invalid for a body too big or
        malformed (the connection is then closed: it is out of sync)."""
        limit = self.server.args.max_body
        te = self.headers.get("Transfer-Encoding", "").lower()
        if te == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise Invalid(400, "bad chunk size")
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass  # trailers
                    return bytes(out)
                if len(out) + size > limit:
                    self.close_connection = True
                    raise Invalid(413, "body exceeds %d bytes" % limit)
                out += self.rfile.read(size)
                self.rfile.readline(1024)
        elif te:
            self.close_connection = True
            raise Invalid(501, "Transfer-Encoding %s not supported" % te)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise Invalid(400, "bad Content-Length")
        if n > limit:
            self.close_connection = True
            raise Invalid(413, "body exceeds %d bytes" % limit)
        return self.rfile.read(n)

    def _json_body(self, raw):
        ctype = self.headers.get("Content-Type", "")
        base = ctype.split(";")[0].strip().lower()
        if base not in ("application/json", "text/plain"):
            raise Invalid(415, "Content-Type must be application/json or "
                          "text/plain, not %r" % ctype)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Invalid(400, "malformed JSON body: %s" % e)
        if not isinstance(body, dict):
            raise Invalid(400, "the body must be a JSON object")
        return body

    def _record(self, status):
        """Logs the API request being answered, once.  Called before the
        answer is written, so a client's next request is never logged
        before this one."""
        rec, self.pending = getattr(self, "pending", None), None
        if rec is None:
            return
        method, t0, parsed = rec
        ms = (time.monotonic() - t0) * 1000
        model = self.server.model
        with model.lock:
            model.log.append({"time": time.time(), "method": method,
                              "path": self.path, "status": status,
                              "ms": round(ms, 3), "body": parsed})
        self.server.logline("%s %s %s %.1fms" % (
            method, self.path, status if status else "dropped", ms))

    def _send(self, status, obj=None, headers=()):
        self._record(status)
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: one segment for small answers.
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    def _route(self, method, path):
        """(endpoint, cluster, extra, allowed methods) or None."""
        parts = [urllib.parse.unquote(p) for p in path.split("/")[1:]]
        if len(parts) == 2 and parts[0] == "operations" and parts[1]:
            return "operation", None, parts[1], ("GET",)
        if len(parts) < 3 or parts[0] != "clusters" or not parts[1]:
            return None
        c = parts[1]
        if parts[2:] == ["status"]:
            return "status", c, None, ("GET",)
        if parts[2:] == ["nodes"]:
            return "nodes", c, None, ("GET",)
        if len(parts) == 4 and parts[2] == "nodes":
            if parts[3] in ACTIONS + ("create",):
                return parts[3], c, None, ("POST",)
            return "unknown-op", c, parts[3], ("POST",)
        return None

    def _authorized(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:].strip(), validate=True
                                           ).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        srv = self.server
        ok_user = hmac.compare_digest(user.encode(), srv.args.username.encode())
        with srv.pw_lock:
            want = srv.password
        ok_pw = hmac.compare_digest(pw.encode(), want.encode())
        return ok_user and ok_pw

    def _dispatch(self, method):
        t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__fake/"):
            return self._control(method, url)
        model = self.server.model
        parsed, resp_headers = None, []
        self.pending = (method, t0, None)
        route = self._route(method, url.path)
        endpoint = route[0] if route and route[0] in ENDPOINTS else None
        fault = None
        try:
            try:
                raw = self._read_body()
            finally:
                with model.lock:
                    c = model.counters
                    if not self.api_seen:
                        self.api_seen = True
                        c["api_connections"] += 1
                    c["requests"]["total"] += 1
                    if endpoint:
                        c["requests"][endpoint] += 1
                    if endpoint:
                        fault = model.take_fault(endpoint)
            if raw:
                try:
                    parsed = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    parsed = None
                self.pending = (method, t0, parsed)
            if fault:
                status = self._pre_fault(fault)
                if status is not None:
                    raise Invalid(status, "injected fault")
            if not self._authorized():
                with model.lock:
                    model.counters["requests"]["unauthorized"] += 1
                raise Invalid(401, "authentication required")
            if route is None:
                raise Invalid(404, "no such resource: %s" % url.path)
            if method not in route[3]:
                resp_headers.append(("Allow", ", ".join(route[3])))
                raise Invalid(405, "method %s not allowed" % method)
            status, obj, hdrs = self._api(route, url, raw)
            resp_headers += hdrs
            if fault and fault["kind"] == "drop":  # when == "after"
                raise Drop()
            self._send(status, obj, resp_headers)
        except Invalid as e:
            status = e.status
            if status == 401:
                resp_headers.append(("WWW-Authenticate",
                                     'Basic realm="CycleCloud"'))
            if fault and fault.get("status") == status and \
                    "retry_after" in fault:
                resp_headers.append(("Retry-After", "%g" %
                                     fault["retry_after"]))
            body = {"Message": e.message}
            if fault and fault.get("status") == status:
                body["Detail"] = "fault injected by fakecc"
            self._send(status, body, resp_headers)
        except Drop:
            self.close_connection = True
        finally:
            self._record(0)  # not answered: dropped, or the client left

    def _pre_fault(self, fault):
        """Applies a fault before the request is served.  Returns an HTTP
        status to answer with, or None to go on; raises Drop."""
        kind = fault["kind"]
        if kind == "http":
            return fault["status"]
        if kind == "latency":
            time.sleep(fault["seconds"])
            return None
        if kind == "drop":
            if fault["when"] == "before":
                raise Drop()
            return None
        # hang: hold the request until the timeout (if any) or shutdown.
        self.server.stopping.wait(fault["seconds"])
        raise Drop()

    def _api(self, route, url, raw):
        endpoint, cluster, extra, _ = route
        model = self.server.model
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if endpoint == "unknown-op":
            raise Invalid(404, "unknown operation %s" % extra)
        if cluster is not None and cluster != model.cluster:
            raise Invalid(404, "unknown cluster %s" % cluster)
        now = time.monotonic()
        if endpoint == "operation":
            with model.lock:
                model.advance(now)
                op = model.ops.get(extra)
                if op is None:
                    raise Invalid(404, "unknown operation %s" % extra)
                obj = {"action": op["action"], "startTime": op["startTime"]}
                if op["requestId"] is not None:
                    obj["requestId"] = op["requestId"]
            return 200, obj, []
        if endpoint == "status":
            bad = set(q) - {"nodes"}
            if bad:
                raise Invalid(400, "unknown query parameter %s" % min(bad))
            v = q.get("nodes", ["false"])
            if len(v) != 1 or v[0] not in ("true", "false"):
                raise Invalid(400, "nodes must be true or false")
            with model.lock:
                model.advance(now)
                obj = model.status(v[0] == "true", now)
            return 200, obj, []
        if endpoint == "nodes":
            bad = set(q) - {"operation", "request_id"}
            if bad:
                raise Invalid(400, "unknown query parameter %s" % min(bad))
            if len(q) > 1 or any(len(v) != 1 or not v[0] for v in q.values()):
                raise Invalid(400, "give one operation or one request_id")
            with model.lock:
                model.advance(now)
                if "operation" in q:
                    opid = q["operation"][0]
                elif "request_id" in q:
                    opid = model.request_ids.get(q["request_id"][0])
                    if opid is None:
                        raise Invalid(404, "no operation with request_id %s"
                                      % q["request_id"][0])
                else:
                    return 200, {"nodes": model.node_list()}, []
                if opid not in model.ops:
                    raise Invalid(404, "unknown operation %s" % opid)
                obj = model.op_nodes(opid)
            return 200, obj, []
        # The POSTs.
        if url.query:
            raise Invalid(400, "unexpected query string")
        body = self._json_body(raw)
        with model.lock:
            model.advance(now)
            if endpoint == "create":
                opid, obj = model.create(body, now)
            else:
                opid, obj = model.manage(endpoint, body, now)
            hooks, model.hooks = model.hooks, []
        self.server.hooks.submit(hooks)
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        scheme = "https" if self.server.tls else "http"
        return 202, obj, [("Location", "%s://%s/operations/%s" %
                           (scheme, host, opid))]

    # -- control ------------------------------------------------------------
    def _control(self, method, url):
        self.pending = None  # control requests are not logged
        try:
            raw = self._read_body()
            host = self.client_address[0]
            if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
                raise Invalid(403, "control API is for loopback clients only")
            path = url.path[len("/__fake/"):]
            gets = ("counters", "log", "nodes", "faults", "config")
            posts = ("faults", "clear-faults", "config", "password",
                     "reset", "reset-counters")
            if (method == "GET" and path not in gets) or \
                    (method == "POST" and path not in posts) or \
                    method not in ("GET", "POST"):
                raise Invalid(404, "unknown control path %s %s" %
                              (method, url.path))
            body = {}
            if method == "POST" and raw.strip():
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as e:
                    raise Invalid(400, "malformed JSON body: %s" % e)
                if not isinstance(body, dict):
                    raise Invalid(400, "the body must be a JSON object")
            obj = self._control_op(method, path, body)
            self._send(200, obj)
        except Invalid as e:
            self._send(e.status, {"Message": e.message})

    def _control_op(self, method, path, body):
        srv, model = self.server, self.server.model
        with model.lock:
            model.advance()
            if method == "GET":
                if path == "counters":
                    c = model.counters
                    return {"connections": c["connections"],
                            "api_connections": c["api_connections"],
                            "requests": dict(c["requests"]),
                            "node_starts": dict(c["node_starts"]),
                            "node_creates": dict(c["node_creates"]),
                            "hooks": dict(c["hooks"])}
                if path == "log":
                    return {"requests": list(model.log)}
                if path == "nodes":
                    return {"nodes": model.node_list()}
                if path == "faults":
                    return {"faults": [dict(f) for f in model.faults],
                            "capacity": {a: {"count": c, "message": m}
                                         for a, (c, m) in
                                         model.capacity.items() if c},
                            "fail_nodes": [{"nodearray": a, "count": c,
                                            "message": m} for a, c, m in
                                           model.failing if c]}
                return dict(model.delays)  # config
            if path == "faults":
                model.add_fault(body)
            elif path == "clear-faults":
                model.faults, model.capacity, model.failing = [], {}, []
            elif path == "config":
                for k, v in body.items():
                    if k not in model.delays:
                        raise Invalid(400, "unknown setting %s" % k)
                    if not isinstance(v, (int, float)) or \
                            isinstance(v, bool) or v < 0:
                        raise Invalid(400, "%s: seconds >= 0 expected" % k)
                model.delays.update(body)
                return dict(model.delays)
            elif path == "password":
                pw = body.get("password")
                if not isinstance(pw, str) or not pw:
                    raise Invalid(400, "password: non-empty string expected")
                with srv.pw_lock:
                    srv.password = pw
            elif path == "reset":
                conns = model.counters["connections"]
                model.reset()
                model.counters["connections"] = conns
            elif path == "reset-counters":
                model.reset_counters()
            return {"ok": True}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.model.lock:
            self.model.counters["connections"] += 1
        return sock, addr

    def finish_request(self, request, client_address):
        if self.tls is None:
            return super().finish_request(request, client_address)
        # The TLS handshake happens here, on the connection's own thread,
        # so a client that never completes it cannot stall accept().
        request.settimeout(10)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.logline("tls handshake from %s failed: %s" %
                         (client_address[0], e))
            return
        try:
            conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # a client went away mid-request: not our bug
        super().handle_error(request, client_address)

    def logline(self, msg):
        line = "%s fakecc: %s\n" % (time.strftime("%H:%M:%S"), msg)
        with self.log_lock:
            self.log_out.write(line)
            self.log_out.flush()


class Server6(Server):
    address_family = socket.AF_INET6


# ---- main ----------------------------------------------------------------------

def load_arrays(path):
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("nodearrays"),
                                                    list):
        raise ValueError("%s: {\"nodearrays\": [...]} expected" % path)
    arrays = {}
    for i, d in enumerate(doc["nodearrays"]):
        if not isinstance(d, dict):
            raise ValueError("nodearrays[%d]: object expected" % i)
        a = NodeArray(d, i)
        if a.name in arrays:
            raise ValueError("nodearrays[%d]: duplicate name %s" % (i, a.name))
        arrays[a.name] = a
    return arrays


def parse_listen(s):
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:]+):(\d+)", s)
    if not m:
        raise ValueError("--listen: HOST:PORT or [V6]:PORT expected")
    if m.group(1):
        return m.group(1), int(m.group(2)), True
    return m.group(3), int(m.group(4)), False


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Fake Azure CycleCloud REST server for ccslurmd tests")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--nodearrays", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--acquire-delay", type=float, default=2.0)
    ap.add_argument("--prepare-delay", type=float, default=2.0)
    ap.add_argument("--ip-delay", type=float, default=1.0)
    ap.add_argument("--stop-delay", type=float, default=1.0)
    ap.add_argument("--ip-pool", default="10.88.0.0/16")
    ap.add_argument("--on-ready")
    ap.add_argument("--on-stop")
    ap.add_argument("--hook-timeout", type=float, default=HOOK_TIMEOUT)
    ap.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY)
    ap.add_argument("--log-file")
    args = ap.parse_args(argv)

    def die(msg):
        sys.stderr.write("fakecc: %s\n" % msg)
        sys.exit(2)

    for k in ("acquire_delay", "prepare_delay", "ip_delay", "stop_delay"):
        if getattr(args, k) < 0:
            die("--%s: must be >= 0" % k.replace("_", "-"))
    if bool(args.tls_cert) != bool(args.tls_key):
        die("--tls-cert and --tls-key go together")
    try:
        with open(args.password_file) as f:
            password = f.read().rstrip("\r\n")
        if not password:
            die("%s: empty password" % args.password_file)
        arrays = load_arrays(args.nodearrays)
        IpPool(args.ip_pool)
        host, port, v6 = parse_listen(args.listen)
    except (OSError, ValueError) as e:
        die(str(e))

    log_out = open(args.log_file, "a") if args.log_file else sys.stderr
    cls = Server6 if v6 else Server
    try:
        srv = cls((host, port), Handler)
    except OSError as e:
        die("cannot listen on %s: %s" % (args.listen, e))
    srv.model = Model(args, arrays)
    srv.args = args
    srv.password = password
    srv.pw_lock = threading.Lock()
    srv.log_lock = threading.Lock()
    srv.log_out = log_out
    srv.stopping = threading.Event()
    srv.hooks = Hooks(srv)
    srv.tls = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            die("TLS certificate: %s" % e)
        srv.tls = ctx

    def ticker():
        while not srv.stopping.wait(TICK):
            with srv.model.lock:
                srv.model.advance()
                hooks, srv.model.hooks = srv.model.hooks, []
            srv.hooks.submit(hooks)

    threading.Thread(target=ticker, daemon=True).start()
    serve = threading.Thread(target=srv.serve_forever, kwargs={
        "poll_interval": 0.1}, daemon=True)
    serve.start()

    bound = srv.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % bound)
        os.rename(tmp, args.port_file)
    srv.logline("listening on %s:%d (%s), cluster %s, %d nodearrays" % (
        host, bound, "https" if srv.tls else "http", args.cluster,
        len(arrays)))

    def on_signal(signum, frame):
        srv.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not srv.stopping.wait(1):
        pass
    srv.shutdown()
    srv.server_close()
    srv.logline("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
