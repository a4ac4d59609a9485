#!/usr/bin/python3
"""Self-test of the fake CycleCloud server: drives tests/fake/fakecc.py over
real HTTP and HTTPS on loopback and checks it keeps the contract in
tests/fake/README.md and /work/shared/spec/cyclecloud-api.md.

Run: CCS_SOURCE_DIR=/work/main /usr/bin/python3 tests/fake/test_fakecc.py -v
Waits are polls with a deadline, never fixed sleeps.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("CCS_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(SRC, "tests", "fake")
PY = "/usr/bin/python3"
CLUSTER = "burst"
USER = "ccslurmd-api"
PASSWORD = "s3cret:with colon"


def wait_until(cond, timeout=10.0, what="condition"):
    """Polls cond() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(0.02)


class Fake:
    """One fakecc process on 127.0.0.1 and a client for it."""

    def __init__(self, arrays="arrays-default.json", extra=(), tls=None,
                 delays=(0.3, 0.3, 0.1, 0.3)):
        self.dir = tempfile.mkdtemp(prefix="fakecc-test-")
        pwf = os.path.join(self.dir, "password")
        with open(pwf, "w") as f:
            f.write(PASSWORD + "\n")
        self.port_file = os.path.join(self.dir, "port")
        self.log_file = os.path.join(self.dir, "fake.log")
        self.tls = tls
        cmd = [PY, "-B", os.path.join(FAKE, "fakecc.py"),
               "--listen", "127.0.0.1:0", "--port-file", self.port_file,
               "--cluster", CLUSTER, "--username", USER,
               "--password-file", pwf,
               "--nodearrays", arrays if os.path.isabs(arrays)
               else os.path.join(FAKE, arrays),
               "--acquire-delay", str(delays[0]),
               "--prepare-delay", str(delays[1]),
               "--ip-delay", str(delays[2]), "--stop-delay", str(delays[3]),
               "--log-file", self.log_file] + list(extra)
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(self.port_file) or
                   self.proc.poll() is not None, what="port file")
        if self.proc.poll() is not None:
            raise RuntimeError("fakecc exited with %d" % self.proc.returncode)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def conn(self, timeout=10, ctx=None):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, auth=(USER, PASSWORD),
                ctype="application/json", conn=None, headers=None,
                raw=None, ctx=None, timeout=10):
        """(status, parsed JSON or None, response).  A conn passed in is
        left open (keep-alive); otherwise one is made and closed."""
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % auth).encode()).decode()
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            h["Content-Type"] = ctype
        own = conn is None
        c = conn or self.conn(timeout=timeout, ctx=ctx)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read()
            obj = json.loads(text) if text else None
            return r.status, obj, r
        finally:
            if own:
                c.close()

    def api(self, method, path, body=None, **kw):
        return self.request(method, "/clusters/%s%s" % (CLUSTER, path), body,
                            **kw)

    def ctl(self, path, body=None):
        st, obj, _ = self.request("POST" if body is not None else "GET",
                                  "/__fake/" + path, body, auth=None)
        if st != 200:
            raise AssertionError("control %s: %d %s" % (path, st, obj))
        return obj

    def nodes(self):
        return {n["Name"]: n for n in self.ctl("nodes")["nodes"]}

    def node(self, name):
        return self.nodes().get(name)

    def wait_status(self, name, status, timeout=10):
        return wait_until(lambda: (self.node(name) or {}).get("Status") ==
                          status and self.node(name), timeout,
                          "%s to be %s" % (name, status))


class FakeTest(unittest.TestCase):
    """One fake for the class, reset before each test."""
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fakecc-hooks-")
        cls.hooklog = os.path.join(cls.tmp, "hooks.log")
        cls.fake = Fake(extra=list(cls.extra) + [
            "--ip-pool", "10.250.0.10-10.250.0.200",
            "--on-ready",
            'case "$CC_NODE_NAME" in *bad*) echo boom; exit 3;; esac; '
            'echo "$CC_EVENT $CC_NODE_NAME $CC_NODE_IP $CC_NODE_ARRAY" >> '
            + cls.hooklog,
            "--on-stop",
            'echo "$CC_EVENT $CC_NODE_NAME $CC_NODE_IP $CC_NODE_ARRAY" >> '
            + cls.hooklog])

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.f = self.fake
        self.f.ctl("reset", {})

    def create(self, sets, **kw):
        body = dict(kw, sets=sets)
        st, obj, r = self.f.api("POST", "/nodes/create", body)
        self.assertEqual(st, 202, obj)
        return obj, r

    def manage(self, action, body, status=202):
        st, obj, _ = self.f.api("POST", "/nodes/" + action, body)
        self.assertEqual(st, status, obj)
        return obj


class TestAuth(FakeTest):
    def test_missing_and_wrong_credentials(self):
        for auth in (None, (USER, "wrong"), ("other", PASSWORD),
                     (USER, PASSWORD + "x")):
            st, obj, r = self.f.api("GET", "/status", auth=auth)
            self.assertEqual(st, 401, auth)
            self.assertIn("Basic", r.getheader("WWW-Authenticate"))
            self.assertNotIn(PASSWORD, json.dumps(obj))
        st, _, r = self.f.request("GET", "/operations/x", auth=None)
        self.assertEqual(st, 401)
        st, _, _ = self.f.request(
            "GET", "/clusters/%s/status" % CLUSTER, auth=None,
            headers={"Authorization": "Basic !!notbase64"})
        self.assertEqual(st, 401)
        self.assertEqual(self.f.ctl("counters")["requests"]["unauthorized"], 6)
        st, _, _ = self.f.api("GET", "/status")
        self.assertEqual(st, 200)

    def test_password_change_and_log_hygiene(self):
        self.f.ctl("password", {"password": "new-one"})
        try:
            self.assertEqual(self.f.api("GET", "/status")[0], 401)
            st, _, _ = self.f.api("GET", "/status", auth=(USER, "new-one"))
            self.assertEqual(st, 200)
        finally:
            self.f.ctl("password", {"password": PASSWORD})
        with open(self.f.log_file) as f:
            text = f.read()
        self.assertIn("GET /clusters/%s/status 200" % CLUSTER, text)
        self.assertNotIn(PASSWORD, text)
        self.assertNotIn("new-one", text)
        self.assertNotIn("Authorization", text)


class TestEndpoints(FakeTest):
    extra = ("--max-body", "65536")

    def test_status_shape(self):
        st, obj, _ = self.f.api("GET", "/status")
        self.assertEqual(st, 200)
        self.assertNotIn("nodes", obj)
        for k in ("state", "targetState", "maxCount", "maxCoreCount"):
            self.assertIn(k, obj)
        arrays = {a["name"]: a for a in obj["nodearrays"]}
        self.assertEqual(set(arrays), {"hpc", "htc", "gpu", "login"})
        hpc = arrays["hpc"]
        rec = hpc["nodearray"]
        self.assertEqual(rec["MachineType"], "Standard_HB120rs_v3")
        self.assertEqual(rec["Azure"]["MaxScalesetSize"], 8)
        self.assertEqual(rec["ShutdownPolicy"], "Terminate")
        self.assertIs(rec["Configuration"]["slurm"]["autoscale"], True)
        self.assertEqual(arrays["gpu"]["nodearray"]["ShutdownPolicy"],
                         "Deallocate")
        b = hpc["buckets"][0]
        self.assertEqual(b["definition"]["machineType"], "Standard_HB120rs_v3")
        self.assertEqual((b["maxCount"], b["activeCount"],
                          b["availableCount"], b["maxPlacementGroupSize"]),
                         (16, 0, 16, 8))
        self.assertEqual(b["maxCoreCount"], 16 * 120)
        self.assertEqual(b["placementGroups"], [])
        self.assertIs(b["valid"], True)
        self.assertLess(b["lastCapacityFailure"], 0)
        self.assertEqual(b["virtualMachine"], {
            "vcpuCount": 120, "pcpuCount": 120, "gpuCount": 0,
            "memory": 448.0, "infiniband": True})
        self.assertNotIn("activeNodes", b)
        vm = arrays["htc"]["buckets"][0]["virtualMachine"]
        self.assertEqual((vm["vcpuCount"], vm["pcpuCount"], vm["memory"]),
                         (2, 1, 4.0))
        self.assertEqual(arrays["gpu"]["buckets"][0]["virtualMachine"]
                         ["gpuCount"], 1)
        self.assertIs(arrays["login"]["nodearray"]["Configuration"]["slurm"]
                      ["autoscale"], False)

        self.create([{"nodearray": "hpc", "count": 2,
                      "placementGroupId": "pgA"}])
        st, obj, _ = self.f.api("GET", "/status?nodes=true")
        b = [a for a in obj["nodearrays"] if a["name"] == "hpc"][0][
            "buckets"][0]
        self.assertEqual(b["activeCount"], 2)
        self.assertEqual(b["availableCount"], 14)
        self.assertEqual(sorted(b["activeNodes"]), ["hpc-1", "hpc-2"])
        self.assertEqual(b["placementGroups"],
                         [{"name": "pgA", "activeCount": 2}])
        names = {n["Name"] for n in obj["nodes"]}
        self.assertEqual(names, {"hpc-1", "hpc-2", "login-1"})
        # A pre-created node: Fixed, Off, never started (no State, no IP).
        login = [n for n in obj["nodes"] if n["Name"] == "login-1"][0]
        self.assertEqual((login["Status"], login["Fixed"]), ("Off", True))
        for k in ("State", "PrivateIp", "Hostname", "InstanceId"):
            self.assertNotIn(k, login)
        self.assertNotIn(None, login.values())

        for q in ("?nodes=yes", "?nodes=true&nodes=false", "?other=1"):
            self.assertEqual(self.f.api("GET", "/status" + q)[0], 400, q)
        st, _, _ = self.f.request("GET", "/clusters/nope/status")
        self.assertEqual(st, 404)

    def test_nodes_and_operations(self):
        obj, r = self.create([{"nodearray": "htc", "count": 2}],
                             requestId="req-1")
        opid = obj["operationId"]
        self.assertTrue(r.getheader("Location").endswith("/operations/" +
                                                         opid))
        st, lst, _ = self.f.api("GET", "/nodes")
        self.assertEqual(st, 200)
        self.assertEqual(len(lst["nodes"]), 3)
        self.assertNotIn("operation", lst)
        st, lst, _ = self.f.api("GET", "/nodes?operation=" + opid)
        self.assertEqual(st, 200)
        self.assertEqual(sorted(n["Name"] for n in lst["nodes"]),
                         ["htc-1", "htc-2"])
        self.assertEqual(lst["operation"]["action"], "create")
        self.assertIn("startTime", lst["operation"])
        st, op, _ = self.f.request("GET", "/operations/" + opid)
        self.assertEqual(st, 200)
        self.assertEqual(op["action"], "create")
        self.assertEqual(op["startTime"], lst["operation"]["startTime"])
        self.assertEqual(self.f.request("GET", "/operations/nope")[0], 404)
        self.assertEqual(self.f.api("GET", "/nodes?operation=nope")[0], 404)
        self.assertEqual(self.f.api("GET", "/nodes?request_id=nope")[0], 404)
        self.assertEqual(self.f.api("GET", "/nodes?bogus=1")[0], 400)
        self.assertEqual(self.f.api(
            "GET", "/nodes?operation=%s&request_id=req-1" % opid)[0], 400)
        self.assertEqual(self.f.api("GET", "/nodes?operation=")[0], 400)
        self.assertEqual(self.f.api("POST", "/nodes/bogus", {})[0], 404)
        self.assertEqual(self.f.request("POST", "/clusters/nope/nodes/start",
                                        {"names": ["x"]})[0], 404)
        self.assertEqual(self.f.request("GET", "/nowhere")[0], 404)
        st, _, r = self.f.api("GET", "/nodes/create")
        self.assertEqual(st, 405)
        self.assertEqual(r.getheader("Allow"), "POST")
        # Terminated, non-Fixed nodes leave the operation's list.
        self.manage("terminate", {"names": ["htc-1"]})
        wait_until(lambda: len(self.f.api("GET", "/nodes?operation=" + opid)
                               [1]["nodes"]) == 1, what="htc-1 removed")

    def test_bodies(self):
        st, obj, _ = self.f.api("POST", "/nodes/create", raw=b"{nope",
                                ctype="application/json")
        self.assertEqual(st, 400)
        self.assertIn("JSON", obj["Message"])
        self.assertEqual(self.f.api("POST", "/nodes/start", ["x"])[0], 400)
        st, _, _ = self.f.api("POST", "/nodes/start", {"names": ["htc-1"]},
                              ctype="application/x-www-form-urlencoded")
        self.assertEqual(st, 415)
        # text/plain with a JSON body, as the CycleCloud docs' curl does.
        st, obj, _ = self.f.api("POST", "/nodes/create", {"sets": [
            {"nodearray": "htc", "count": 1}]}, ctype="text/plain")
        self.assertEqual(st, 202, obj)
        # A chunked body.
        c = self.f.conn()
        body = json.dumps({"names": ["htc-1"]}).encode()
        c.putrequest("POST", "/clusters/%s/nodes/terminate" % CLUSTER)
        c.putheader("Authorization", "Basic " + base64.b64encode(
            ("%s:%s" % (USER, PASSWORD)).encode()).decode())
        c.putheader("Content-Type", "application/json")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for part in (body[:5], body[5:]):
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        obj = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 202)
        self.assertEqual(obj["nodes"][0]["status"], "OK")
        # Over the size limit (--max-body 65536 for this class).
        st, _, _ = self.f.api("POST", "/nodes/start",
                              {"names": ["x" * 70000]})
        self.assertEqual(st, 413)
        self.assertEqual(self.f.ctl("log")["requests"][-1]["status"], 413)

    def test_request_log(self):
        self.create([{"nodearray": "htc", "count": 1}], requestId="logged")
        self.f.api("GET", "/status")
        log = self.f.ctl("log")["requests"]
        self.assertEqual([(e["method"], e["path"], e["status"])
                          for e in log],
                         [("POST", "/clusters/%s/nodes/create" % CLUSTER, 202),
                          ("GET", "/clusters/%s/status" % CLUSTER, 200)])
        self.assertEqual(log[0]["body"]["requestId"], "logged")
        self.assertIsNone(log[1]["body"])
        self.assertIsInstance(log[0]["time"], float)


class TestLifeCycle(FakeTest):
    def test_boot_sequence_and_ip_before_ready(self):
        # Wide windows, so a slow poll still sees each step.
        self.f.ctl("config", {"acquire_delay": 1.0, "prepare_delay": 0.5,
                              "ip_delay": 0.5})
        obj, _ = self.create([{"nodearray": "hpc", "count": 1}])
        seen = []

        def step():
            n = self.f.node("hpc-1")
            key = (n["Status"], "PrivateIp" in n)
            if not seen or seen[-1] != key:
                seen.append(key)
            return n["Status"] == "Ready"
        wait_until(step, what="hpc-1 Ready")
        statuses = [s for s, _ in seen]
        self.assertEqual(statuses[0], "Acquiring")
        self.assertIn("Preparing", statuses)
        self.assertEqual(statuses[-1], "Ready")
        self.assertEqual(seen[0], ("Acquiring", False))
        # The address shows up before Ready, and stays.
        first_ip = [i for i, (_, ip) in enumerate(seen) if ip][0]
        self.assertLess(first_ip, len(seen) - 1)
        self.assertTrue(all(ip for _, ip in seen[first_ip:]))
        n = self.f.node("hpc-1")
        self.assertEqual((n["State"], n["TargetState"]), ("Started",
                                                           "Started"))
        self.assertEqual(n["Hostname"], "hpc-1")
        self.assertIn("InstanceId", n)
        ip = [int(x) for x in n["PrivateIp"].split(".")]
        self.assertEqual(ip[:3], [10, 250, 0])
        self.assertTrue(10 <= ip[3] <= 200)
        wait_until(lambda: self._hooks("ready hpc-1"), what="ready hook")
        self.assertIn("ready hpc-1 %s hpc" % n["PrivateIp"], self._hooks())

        # Shutdown of a non-Fixed node: Terminating, then removed.
        obj = self.manage("shutdown", {"names": ["hpc-1"]})
        self.assertEqual(obj["nodes"], [{"id": n["NodeId"], "name": "hpc-1",
                                         "status": "OK"}])
        self.assertEqual(self.f.node("hpc-1")["Status"], "Terminating")
        wait_until(lambda: self.f.node("hpc-1") is None, what="removal")
        wait_until(lambda: self._hooks("stop hpc-1"), what="stop hook")
        c = self.f.ctl("counters")
        self.assertEqual(c["node_starts"], {"hpc-1": 1})
        self.assertEqual(c["node_creates"]["hpc-1"], 1)
        # Its address is free again: the next node gets the lowest one.
        self.f.ctl("reset-counters", {})
        self.assertEqual(self.f.ctl("config")["acquire_delay"], 1.0)
        self.create([{"nodearray": "htc", "count": 1}])
        self.assertEqual(self.f.wait_status("htc-1", "Ready")["PrivateIp"],
                         n["PrivateIp"])

    def _hooks(self, needle=None):
        try:
            with open(self.hooklog) as f:
                text = f.read()
        except FileNotFoundError:
            return "" if needle is None else False
        return text if needle is None else needle in text

    def test_fixed_node_goes_off(self):
        self.create([{"nodearray": "htc", "count": 1, "nameFormat": "fx-%d",
                      "nameOffset": 7, "nodeAttributes": {"Fixed": True}}])
        self.f.wait_status("fx-7", "Ready")
        self.manage("terminate", {"names": ["fx-7"]})
        n = self.f.wait_status("fx-7", "Off")
        self.assertEqual((n["State"], n["TargetState"]),
                         ("Terminated", "Terminated"))
        for k in ("PrivateIp", "Hostname", "InstanceId"):
            self.assertNotIn(k, n)
        # Start boots it again.
        self.manage("start", {"names": ["fx-7"]})
        self.f.wait_status("fx-7", "Ready")
        self.assertEqual(self.f.ctl("counters")["node_starts"]["fx-7"], 2)

    def test_deallocate_keeps_vm_and_restarts_faster(self):
        self.f.ctl("config", {"acquire_delay": 1.0, "prepare_delay": 0.2})
        t0 = time.monotonic()
        self.create([{"nodearray": "gpu", "count": 1}])
        ip = self.f.wait_status("gpu-1", "Ready")["PrivateIp"]
        cold = time.monotonic() - t0
        self.manage("shutdown", {"names": ["gpu-1"]})  # policy Deallocate
        n = self.f.wait_status("gpu-1", "Deallocated")
        self.assertEqual((n["State"], n["TargetState"], n["PrivateIp"]),
                         ("Deallocated", "Deallocated", ip))
        obj = self.manage("deallocate", {"names": ["gpu-1"]})
        self.assertEqual(obj["nodes"][0]["status"], "OK")  # no-op
        t0 = time.monotonic()
        self.manage("start", {"names": ["gpu-1"]})
        self.assertEqual(self.f.wait_status("gpu-1", "Ready")["PrivateIp"], ip)
        warm = time.monotonic() - t0
        self.assertLess(warm, cold)
        self.assertEqual(self.f.ctl("counters")["node_starts"]["gpu-1"], 2)
        # terminate of a deallocated, non-Fixed node removes it.
        self.manage("shutdown", {"names": ["gpu-1"]})
        self.f.wait_status("gpu-1", "Deallocated")
        self.manage("terminate", {"names": ["gpu-1"]})
        wait_until(lambda: self.f.node("gpu-1") is None, what="removal")

    def test_start_semantics(self):
        self.f.ctl("config", {"stop_delay": 30})
        self.f.ctl("reset", {})  # back to the command line's delays
        self.assertEqual(self.f.ctl("config")["stop_delay"], 0.3)
        self.f.ctl("config", {"stop_delay": 30})
        self.create([{"nodearray": "htc", "count": 2}])
        self.f.wait_status("htc-1", "Ready")
        obj = self.manage("start", {"names": ["htc-1"]})
        self.assertEqual(obj["nodes"][0]["status"], "OK")
        self.assertEqual(self.f.ctl("counters")["node_starts"]["htc-1"], 1)
        self.manage("terminate", {"names": ["htc-2"]})
        obj = self.manage("start", {"names": ["htc-2"]})
        self.assertEqual(obj["nodes"][0]["status"], "Error")
        self.assertIn("Terminating", obj["nodes"][0]["error"])
        # Shutdown of a Terminating node is a no-op.
        self.assertEqual(self.manage("shutdown", {"names": ["htc-2"]})
                         ["nodes"][0]["status"], "OK")

    def test_failing_ready_hook_marks_node_failed(self):
        self.create([{"nodearray": "htc", "count": 1, "nameFormat": "bad-1"}])
        n = self.f.wait_status("bad-1", "Failed")
        self.assertIn("on-ready hook failed (exit 3)", n["StatusMessage"])
        with open(self.f.log_file) as f:
            self.assertIn('exit=3', f.read())
        self.assertEqual(self.f.ctl("counters")["hooks"]["ready_failed"], 1)


class TestCreateRules(FakeTest):
    def test_name_format_and_offset(self):
        obj, _ = self.create([{"nodearray": "hpc", "count": 4,
                               "nameFormat": "hpc-pg0-%d", "nameOffset": 1,
                               "placementGroupId": "hpc-pg0",
                               "definition": {"machineType":
                                              "Standard_HB120rs_v3"}}])
        self.assertEqual(obj["sets"], [{"added": 4}])
        names = self.f.nodes()
        for i in range(1, 5):
            self.assertEqual(names["hpc-pg0-%d" % i]["PlacementGroupId"],
                             "hpc-pg0")
        self.assertNotIn("hpc-pg0-0", names)
        # Existing names are skipped with a message.
        obj, _ = self.create([{"nodearray": "hpc", "count": 3,
                               "nameFormat": "hpc-pg0-%d", "nameOffset": 3,
                               "placementGroupId": "hpc-pg0"}])
        self.assertEqual(obj["sets"][0]["added"], 1)
        self.assertIn("hpc-pg0-3", obj["sets"][0]["message"])
        self.assertIn("hpc-pg0-5", self.f.nodes())

    def test_lowest_free_index_and_literal(self):
        obj, _ = self.create([{"nodearray": "htc", "count": 1,
                               "nameFormat": "htc-2"},
                              {"nodearray": "htc", "count": 1,
                               "nameFormat": "htc-4"}])
        self.assertEqual([s["added"] for s in obj["sets"]], [1, 1])
        obj, _ = self.create([{"nodearray": "htc", "count": 3}])
        self.assertEqual(obj["sets"], [{"added": 3}])
        self.assertEqual(sorted(n for n in self.f.nodes() if
                                n.startswith("htc")),
                         ["htc-1", "htc-2", "htc-3", "htc-4", "htc-5"])
        obj, _ = self.create([{"nodearray": "htc", "count": 1,
                               "nameFormat": "htc-2"}])
        self.assertEqual(obj["sets"][0]["added"], 0)
        self.assertIn("already exist", obj["sets"][0]["message"])
        # StartAutomatically false: created Off, not booted.
        self.create([{"nodearray": "htc", "count": 1, "nameFormat": "cold",
                      "nodeAttributes": {"StartAutomatically": False,
                                         "KeepAlive": True}}])
        n = self.f.node("cold")
        self.assertEqual((n["Status"], n["KeepAlive"]), ("Off", True))
        self.assertNotIn("cold", self.f.ctl("counters")["node_starts"])

    def test_invalid_create_changes_nothing(self):
        before = self.f.nodes()
        bad = [
            {},
            {"sets": []},
            {"sets": [{"count": 1}]},
            {"sets": [{"nodearray": "nope", "count": 1}]},
            {"sets": [{"nodearray": "htc"}]},
            {"sets": [{"nodearray": "htc", "count": -1}]},
            {"sets": [{"nodearray": "htc", "count": 2, "nameFormat": "x"}]},
            {"sets": [{"nodearray": "htc", "count": 1,
                       "nameFormat": "a-%d-%d"}]},
            {"sets": [{"nodearray": "htc", "count": 1, "nameFormat": "a %d"}]},
            {"sets": [{"nodearray": "htc", "count": 1, "nameOffset": "1"}]},
            {"sets": [{"nodearray": "htc", "count": 1,
                       "definition": {"machineType": "Standard_X"}}]},
            {"sets": [{"nodearray": "htc", "count": 1,
                       "nodeAttributes": {"Status": "Ready"}}]},
            # One good set and one bad: nothing is created.
            {"sets": [{"nodearray": "htc", "count": 1},
                      {"nodearray": "nope", "count": 1}]},
        ]
        for b in bad:
            b["requestId"] = "bad"
            st, obj, _ = self.f.api("POST", "/nodes/create", b)
            self.assertEqual(st, 409, b)
            self.assertTrue(obj["Message"])
        self.assertEqual(self.f.nodes().keys(), before.keys())
        # "bad" was never consumed.
        self.assertEqual(self.f.api("GET", "/nodes?request_id=bad")[0], 404)
        self.create([{"nodearray": "htc", "count": 1}], requestId="bad")

    def test_request_id_conflict(self):
        obj, _ = self.create([{"nodearray": "htc", "count": 2}],
                             requestId="r-1")
        st, err, _ = self.f.api("POST", "/nodes/create", {
            "requestId": "r-1", "sets": [{"nodearray": "htc", "count": 5}]})
        self.assertEqual(st, 409)
        self.assertIn("r-1", err["Message"])
        self.assertEqual(len(self.f.nodes()), 3)  # login-1 + 2
        st, lst, _ = self.f.api("GET", "/nodes?request_id=r-1")
        self.assertEqual(st, 200)
        self.assertEqual(sorted(n["Name"] for n in lst["nodes"]),
                         ["htc-1", "htc-2"])
        self.assertEqual(lst["operation"]["action"], "create")
        self.assertTrue(all(n["RequestId"] == "r-1" for n in lst["nodes"]))
        # The id space is shared with the management calls.
        st, _, _ = self.f.api("POST", "/nodes/start", {
            "requestId": "r-1", "names": ["htc-1"]})
        self.assertEqual(st, 409)
        self.manage("start", {"requestId": "s-1", "names": ["htc-1"]})
        st, lst, _ = self.f.api("GET", "/nodes?request_id=s-1")
        self.assertEqual(lst["operation"]["action"], "start")


class TestLimits(FakeTest):
    def test_max_count(self):
        obj, _ = self.create([{"nodearray": "gpu", "count": 6}])
        self.assertEqual(obj["sets"][0]["added"], 4)
        self.assertIn("maxCount", obj["sets"][0]["message"])
        self.create([{"nodearray": "gpu", "count": 1, "nameFormat": "gpu-x",
                      "nodeAttributes": {"StartAutomatically": False}}])
        obj = self.manage("start", {"names": ["gpu-x"]})
        self.assertEqual(obj["nodes"][0]["status"], "Error")
        self.assertIn("maxCount", obj["nodes"][0]["error"])
        b = self._bucket("gpu")
        self.assertEqual((b["activeCount"], b["availableCount"]), (4, 0))

    def test_max_scaleset_size(self):
        obj, _ = self.create([{"nodearray": "hpc", "count": 10,
                               "nameFormat": "hpc-pg0-%d", "nameOffset": 1,
                               "placementGroupId": "pg0"}])
        self.assertEqual(obj["sets"][0]["added"], 8)
        self.assertIn("MaxScalesetSize", obj["sets"][0]["message"])
        # Another placement group still has room.
        obj, _ = self.create([{"nodearray": "hpc", "count": 2,
                               "nameFormat": "hpc-pg1-%d", "nameOffset": 1,
                               "placementGroupId": "pg1"}])
        self.assertEqual(obj["sets"], [{"added": 2}])
        self.create([{"nodearray": "hpc", "count": 1,
                      "nameFormat": "hpc-pg0-9", "placementGroupId": "pg0",
                      "nodeAttributes": {"StartAutomatically": False}}])
        obj = self.manage("start", {"names": ["hpc-pg0-9"]})
        self.assertIn("MaxScalesetSize", obj["nodes"][0]["error"])
        pgs = {p["name"]: p["activeCount"]
               for p in self._bucket("hpc")["placementGroups"]}
        self.assertEqual(pgs, {"pg0": 8, "pg1": 2})
        # A placement group belongs to one nodearray.
        st, _, _ = self.f.api("POST", "/nodes/create", {"sets": [
            {"nodearray": "htc", "count": 1, "placementGroupId": "pg0"}]})
        self.assertEqual(st, 409)

    def _bucket(self, name):
        st = self.f.api("GET", "/status")[1]
        return [a for a in st["nodearrays"] if a["name"] == name][0][
            "buckets"][0]

    def test_remove_only_when_off(self):
        self.create([{"nodearray": "htc", "count": 1, "nameFormat": "keep",
                      "nodeAttributes": {"StartAutomatically": False,
                                         "Fixed": True}},
                     {"nodearray": "htc", "count": 1, "nameFormat": "busy"}])
        obj = self.manage("remove", {"names": ["keep", "busy"]})
        res = {n["name"]: n for n in obj["nodes"]}
        self.assertEqual(res["keep"]["status"], "OK")
        self.assertEqual(res["busy"]["status"], "Error")
        self.assertEqual(res["busy"]["error"],
                         "This node must be terminated before it can be "
                         "removed")
        self.assertIsNone(self.f.node("keep"))
        self.assertIsNotNone(self.f.node("busy"))

    def test_selectors_and_filter(self):
        self.create([{"nodearray": "htc", "count": 3}])
        a = self.f.wait_status("htc-1", "Ready")
        b = self.f.wait_status("htc-2", "Ready")
        self.f.wait_status("htc-3", "Ready")
        obj = self.manage("terminate", {"ids": [a["NodeId"]],
                                        "ip_addresses": [b["PrivateIp"]],
                                        "hostnames": ["htc-1"],
                                        "names": ["ghost"]})
        # Union without duplicates; what matched nothing comes last.
        res = [(n.get("name"), n["status"]) for n in obj["nodes"]]
        self.assertEqual(res, [("htc-1", "OK"), ("htc-2", "OK"),
                               ("ghost", "Error")])
        obj = self.manage("shutdown", {
            "filter": 'Name in {"htc-1","htc-3"} && Status == "Ready"'})
        self.assertEqual([n["name"] for n in obj["nodes"]], ["htc-3"])
        obj = self.manage("shutdown", {
            "filter": 'Template == "htc" && !(Name == "htc-3") && '
                      'Configuration.slurm.hpc == false'})
        self.assertEqual(sorted(n["name"] for n in obj["nodes"]),
                         ["htc-1", "htc-2"])
        for flt in ('Name in {"a"', 'Name ~ "x"', 'Name ==', '', 'a == "b" &&',
                    '"x" == Name', 7):
            st, _, _ = self.f.api("POST", "/nodes/shutdown", {"filter": flt})
            self.assertEqual(st, 400, flt)
        self.manage("shutdown", {"requestId": "x"}, status=409)
        self.manage("shutdown", {"names": "htc-1"}, status=409)


class TestFaults(FakeTest):
    def test_capacity(self):
        self.f.ctl("faults", {"kind": "capacity", "nodearray": "hpc",
                              "count": 2, "message": "no HB capacity"})
        obj, _ = self.create([{"nodearray": "hpc", "count": 3}])
        self.assertEqual(obj["sets"][0]["added"], 1)
        self.assertIn("no HB capacity", obj["sets"][0]["message"])
        st = self.f.api("GET", "/status")[1]
        b = [a for a in st["nodearrays"] if a["name"] == "hpc"][0][
            "buckets"][0]
        self.assertGreaterEqual(b["lastCapacityFailure"], 0)
        self.f.ctl("faults", {"kind": "capacity", "nodearray": "hpc",
                              "count": 1, "message": "still none"})
        self.create([{"nodearray": "hpc", "count": 1, "nameFormat": "h",
                      "nodeAttributes": {"StartAutomatically": False}}])
        obj = self.manage("start", {"names": ["h"]})
        self.assertEqual(obj["nodes"][0]["status"], "Error")
        self.assertEqual(obj["nodes"][0]["error"], "still none")
        obj = self.manage("start", {"names": ["h"]})  # fault used up
        self.assertEqual(obj["nodes"][0]["status"], "OK")

    def test_fail_nodes(self):
        self.f.ctl("faults", {"kind": "fail_nodes", "nodearray": "htc",
                              "count": 1, "message": "image broken"})
        self.create([{"nodearray": "htc", "count": 2}])
        self.assertEqual(self.f.node("htc-1")["Status"], "Acquiring")
        n = self.f.wait_status("htc-1", "Failed")
        self.assertEqual(n["StatusMessage"], "image broken")
        self.assertNotIn("PrivateIp", n)
        self.f.wait_status("htc-2", "Ready")
        self.manage("start", {"names": ["htc-1"]})  # boots again
        self.f.wait_status("htc-1", "Ready")
        self.assertEqual(self.f.ctl("counters")["node_starts"]["htc-1"], 2)

    def test_http_status_and_retry_after(self):
        self.f.ctl("faults", {"kind": "http", "status": 429,
                              "retry_after": 3, "count": 2,
                              "endpoint": "status"})
        self.assertEqual(self.f.api("GET", "/nodes")[0], 200)  # other
        for _ in range(2):
            st, obj, r = self.f.api("GET", "/status")
            self.assertEqual(st, 429)
            self.assertEqual(r.getheader("Retry-After"), "3")
        self.assertEqual(self.f.api("GET", "/status")[0], 200)
        self.f.ctl("faults", {"kind": "http", "status": 503, "count": 1,
                              "endpoint": "*"})
        st, _, r = self.f.api("POST", "/nodes/create", {"sets": [
            {"nodearray": "htc", "count": 1}]})
        self.assertEqual(st, 503)
        self.assertIsNone(r.getheader("Retry-After"))
        self.assertNotIn("htc-1", self.f.nodes())  # not applied
        self.assertEqual(self.f.ctl("counters")["requests"]["create"], 1)

    def test_drop_and_hang(self):
        self.f.ctl("faults", {"kind": "drop", "count": 1,
                              "endpoint": "create"})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.f.api("POST", "/nodes/create", {"sets": [
                {"nodearray": "htc", "count": 1}]})
        self.assertNotIn("htc-1", self.f.nodes())
        # Dropped after the request was carried out: the ambiguous case a
        # client must settle by its requestId.
        self.f.ctl("faults", {"kind": "drop", "count": 1, "when": "after",
                              "endpoint": "create"})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.f.api("POST", "/nodes/create", {"requestId": "amb",
                                                 "sets": [{"nodearray": "htc",
                                                           "count": 1}]})
        self.assertIn("htc-1", self.f.nodes())
        self.assertEqual(self.f.api("POST", "/nodes/create", {
            "requestId": "amb", "sets": [{"nodearray": "htc",
                                          "count": 1}]})[0], 409)
        self.f.ctl("faults", {"kind": "hang", "count": 1, "endpoint": "nodes",
                              "seconds": 5})
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.f.api("GET", "/nodes", timeout=0.5)
        self.assertEqual(self.f.api("GET", "/nodes")[0], 200)

    def test_latency(self):
        self.f.ctl("faults", {"kind": "latency", "seconds": 0.4, "count": 1,
                              "endpoint": "status"})
        t0 = time.monotonic()
        self.assertEqual(self.f.api("GET", "/status")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        self.f.api("GET", "/status")
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_bad_faults_and_clear(self):
        for bad in ({"kind": "nope"}, {"kind": "http", "status": 200},
                    {"kind": "http", "status": 500, "endpoint": "x"},
                    {"kind": "capacity", "nodearray": "nope"},
                    {"kind": "latency", "count": 0, "seconds": 1}):
            st, _, _ = self.f.request("POST", "/__fake/faults", bad,
                                      auth=None)
            self.assertEqual(st, 400, bad)
        self.f.ctl("faults", {"kind": "http", "status": 500, "count": 5})
        self.assertEqual(len(self.f.ctl("faults")["faults"]), 1)
        self.f.ctl("clear-faults", {})
        self.assertEqual(self.f.api("GET", "/status")[0], 200)
        st, _, _ = self.f.request("POST", "/__fake/config", {"nope": 1},
                                  auth=None)
        self.assertEqual(st, 400)
        st, _, _ = self.f.request("POST", "/__fake/config",
                                  {"stop_delay": -1}, auth=None)
        self.assertEqual(st, 400)


class TestCounters(FakeTest):
    def test_keep_alive_connections_counted(self):
        c0 = self.f.ctl("counters")
        conn = self.f.conn()
        for _ in range(5):
            st, _, r = self.f.api("GET", "/status", conn=conn)
            self.assertEqual(st, 200)
            self.assertEqual(r.version, 11)
        self.f.api("POST", "/nodes/create", {"sets": [
            {"nodearray": "htc", "count": 1}]}, conn=conn)
        conn.close()
        c1 = self.f.ctl("counters")
        # Our one connection plus the one that read the counters.
        self.assertEqual(c1["connections"] - c0["connections"], 2)
        self.assertEqual(c1["api_connections"] - c0["api_connections"], 1)
        self.assertEqual(c1["requests"]["status"], 5)
        self.assertEqual(c1["requests"]["create"], 1)
        self.assertEqual(c1["requests"]["total"], 6)
        self.assertEqual(c1["node_creates"], {"login-1": 1, "htc-1": 1})
        self.assertEqual(c1["node_starts"], {"htc-1": 1})
        # Without keep-alive each request is a connection.
        for _ in range(3):
            self.f.api("GET", "/status")
        c2 = self.f.ctl("counters")
        self.assertEqual(c2["connections"] - c1["connections"], 4)


class TestTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="fakecc-certs-")
        subprocess.run(["/bin/sh", os.path.join(FAKE, "mkcerts.sh"),
                        cls.certs], check=True, stdout=subprocess.DEVNULL)
        p = lambda n: os.path.join(cls.certs, n)  # noqa: E731
        cls.p = staticmethod(p)
        cls.fake = Fake(tls=(p("server.pem"), p("server-key.pem")))
        cls.expired = Fake(tls=(p("expired.pem"), p("expired-key.pem")))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        cls.expired.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def ctx(self, ca):
        c = ssl.create_default_context(cafile=self.p(ca))
        return c

    def test_verified(self):
        st, obj, _ = self.fake.api("GET", "/status",
                                   ctx=self.ctx("ca.pem"))
        self.assertEqual(st, 200)
        obj, r = None, None
        st, obj, r = self.fake.api("POST", "/nodes/create", {"sets": [
            {"nodearray": "htc", "count": 1}]},
            ctx=self.ctx("ca.pem"))
        self.assertEqual(st, 202)
        self.assertTrue(r.getheader("Location").startswith("https://"))

    def test_wrong_ca_and_expired_fail(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.fake.api("GET", "/status",
                          ctx=self.ctx("wrong-ca.pem"))
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:
            self.expired.api("GET", "/status", ctx=self.ctx("ca.pem"))
        self.assertIn("expired", str(cm.exception))
        # A failed handshake does not hurt the server.
        st, _, _ = self.fake.api("GET", "/status",
                                 ctx=self.ctx("ca.pem"))
        self.assertEqual(st, 200)

    def test_plain_http_to_tls_port_refused(self):
        c = http.client.HTTPConnection("127.0.0.1", self.fake.port, timeout=5)
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError, http.client.BadStatusLine)):
            c.request("GET", "/clusters/%s/status" % CLUSTER)
            c.getresponse().read()
        c.close()


class TestIpPool(unittest.TestCase):
    def test_pool_exhaustion(self):
        f = Fake(extra=["--ip-pool", "10.250.1.5,10.250.1.7-10.250.1.7"],
                 delays=(0.1, 0.1, 0.05, 0.1))
        try:
            st, obj, _ = f.api("POST", "/nodes/create", {"sets": [
                {"nodearray": "htc", "count": 3}]})
            self.assertEqual(st, 202)
            ips = sorted(f.wait_status("htc-%d" % i, "Ready")["PrivateIp"]
                         for i in (1, 2))
            self.assertEqual(ips, ["10.250.1.5", "10.250.1.7"])
            n = f.wait_status("htc-3", "Failed")
            self.assertIn("IP pool", n["StatusMessage"])
        finally:
            f.stop()

    def test_bad_arguments_exit_2(self):
        tmp = tempfile.mkdtemp()
        try:
            pw = os.path.join(tmp, "pw")
            with open(pw, "w") as fp:
                fp.write("x")
            bad_arrays = os.path.join(tmp, "a.json")
            with open(bad_arrays, "w") as fp:
                json.dump({"nodearrays": [{"name": "x"}]}, fp)
            base = [PY, "-B", os.path.join(FAKE, "fakecc.py"), "--cluster",
                    "c", "--username", "u", "--password-file", pw]
            for extra in (["--nodearrays", bad_arrays],
                          ["--nodearrays", os.path.join(FAKE,
                                                        "arrays-default.json"),
                           "--ip-pool", "10.0.0.9-10.0.0.1"],
                          ["--nodearrays", os.path.join(tmp, "missing")]):
                p = subprocess.run(base + extra, capture_output=True,
                                   text=True, timeout=20)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1,
                                 p.stderr)
        finally:
            shutil.rmtree(tmp)


class TestLoad(unittest.TestCase):
    """10,000 nodes: created in one request, booted, listed."""

    def test_ten_thousand_nodes(self):
        f = Fake(arrays="arrays-large.json", delays=(0.5, 0.5, 0.2, 0.5))
        try:
            sets = [{"nodearray": "hpc", "count": 100,
                     "nameFormat": "hpc-pg%d-%%d" % p, "nameOffset": 1,
                     "placementGroupId": "hpc-Standard_HB120rs_v3-pg%d" % p}
                    for p in range(40)]
            sets += [{"nodearray": "htc", "count": 5000},
                     {"nodearray": "gpu", "count": 1000}]
            t0 = time.monotonic()
            st, obj, _ = f.api("POST", "/nodes/create", {"sets": sets})
            t_create = time.monotonic() - t0
            self.assertEqual(st, 202)
            self.assertEqual(sum(s["added"] for s in obj["sets"]), 10000)

            def all_ready():
                t = time.monotonic()
                st, obj, _ = f.api("GET", "/status?nodes=true")
                all_ready.t_list = time.monotonic() - t
                return st == 200 and len(obj["nodes"]) == 10000 and all(
                    n["Status"] == "Ready" for n in obj["nodes"]) and obj
            obj = wait_until(all_ready, timeout=60, what="10,000 Ready")
            self.assertEqual(len({n["PrivateIp"] for n in obj["nodes"]}),
                             10000)
            t_list = all_ready.t_list
            # Many small requests on one keep-alive connection.
            conn = f.conn()
            t0 = time.monotonic()
            n_req = 300
            for _ in range(n_req):
                st, _, _ = f.api("GET", "/status", conn=conn)
                self.assertEqual(st, 200)
            rate = n_req / (time.monotonic() - t0)
            conn.close()
            sys.stderr.write(
                "\nload: create 10000 nodes %.2fs; status?nodes=true with "
                "10000 nodes %.2fs; GET status %.0f req/s on one "
                "connection\n" % (t_create, t_list, rate))
            self.assertLess(t_create, 10)
            self.assertLess(t_list, 10)
            self.assertGreater(rate, 100)
        finally:
            f.stop()


if __name__ == "__main__":
    unittest.main()
