#!/usr/bin/python3
"""The shims (ccslurm-resume/-suspend/-resumefail) against a stand-in daemon.

The stand-in is a Unix socket server written here from proto.h: it reads one
frame, records it, and answers as the case asks (acknowledge, refuse, answer
in another protocol version, say nothing, hang up).  Each case runs the real
shim binary the way slurmctld does: one hostlist argument, an environment
holding only what a site's wrapper would set, and (in some cases) stdout and
stderr closed.

usage: test_shim.py BUILD_DIR_OF_THE_SHIMS
"""
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

MAGIC = 0x43435344
VERSION = 1
HDR = struct.Struct("!IHHI")
RESUME, SUSPEND, RESUMEFAIL = 100, 101, 102
REPLY_BASE = 1000
ERROR = 2000

BIN = None
FAILS = []


def frame(type_, obj, version=VERSION):
    body = json.dumps(obj).encode()
    return HDR.pack(MAGIC, version, type_, len(body)) + body


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


class Daemon:
    """A one-connection-at-a-time stand-in for ccslurmd's control socket."""

    def __init__(self, path, mode, delay_bind=0.0):
        self.path = path
        self.mode = mode
        self.requests = []      # (type, payload dict, trailing bytes)
        self.errors = []
        self.sock = None
        self.stop = False
        self.bound = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(delay_bind,),
                                       daemon=True)
        self.thread.start()
        if delay_bind == 0:
            self.bound.wait(5)

    def run(self, delay_bind):
        if delay_bind:
            time.sleep(delay_bind)      # the daemon is "restarting"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.bound.set()
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.serve(conn)
            except Exception as e:  # recorded, checked by the case
                self.errors.append(repr(e))
            finally:
                conn.close()

    def serve(self, conn):
        conn.settimeout(10)
        magic, version, type_, length = HDR.unpack(recv_exact(conn,
                                                              HDR.size))
        if magic != MAGIC or version != VERSION:
            raise ValueError("bad header %x %d" % (magic, version))
        body = json.loads(recv_exact(conn, length))
        if self.mode == "ack":
            conn.sendall(frame(type_ + REPLY_BASE, {
                "accepted": 2, "nodes": 2, "message": "queued"}))
        elif self.mode == "refuse":
            conn.sendall(frame(ERROR, {"error": "unknown node hpc-9"}))
        elif self.mode == "version":
            conn.sendall(frame(ERROR, {"error": "speak v2"}, version=2))
        elif self.mode == "hangup":
            # Read the request, then go away without a word.
            self.requests.append((type_, body, b""))
            return
        elif self.mode == "silent":
            # Hold the connection until the shim gives up on it.
            conn.settimeout(10)
            try:
                conn.recv(1)
            except socket.timeout:
                pass
        # Nothing else may arrive: a stray log line on the socket would
        # show up here.
        conn.settimeout(10)
        rest = b""
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                rest += chunk
        except OSError:
            pass
        self.requests.append((type_, body, rest))

    def close(self):
        self.stop = True
        self.thread.join(5)
        if self.sock:
            self.sock.close()


def run_shim(name, args, env, close_std=False, timeout=30):
    path = os.path.join(BIN, name)
    if close_std:
        # As slurmctld does it: stdout and stderr closed, not /dev/null.
        argv = ["/bin/sh", "-c", 'exec "$0" "$@" 1>&- 2>&-', path] + args
    else:
        argv = [path] + args
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                       capture_output=not close_std, timeout=timeout)
    return p.returncode, (p.stderr or b"").decode(), time.monotonic() - t0


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def spooled(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".req"))


def case(fn):
    """Run one case in a fresh directory with its own socket and spool."""
    with tempfile.TemporaryDirectory(prefix="ccs-shim-") as d:
        spool = os.path.join(d, "spool")
        os.mkdir(spool, 0o700)
        env = {"CCSLURMD_SOCKET": os.path.join(d, "sock"),
               "CCSLURMD_SPOOL": spool,
               "CCSLURM_SHIM_RETRY_MS": "300",
               "CCSLURM_SHIM_TIMEOUT_MS": "2000"}
        n = len(FAILS)
        fn(d, env, spool)
        print("%s %s" % ("ok  " if len(FAILS) == n else "FAIL", fn.__name__))


def t_ack(d, env, spool):
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack")
    for name, type_ in (("ccslurm-resume", RESUME),
                        ("ccslurm-suspend", SUSPEND),
                        ("ccslurm-resumefail", RESUMEFAIL)):
        rc, err, _ = run_shim(name, ["hpc-[1-2]"], env)
        check(rc == 0, "%s ack: exit %d (%s)" % (name, rc, err))
        check("accepted 2: queued" in err, "%s ack message: %r" % (name, err))
    srv.close()
    check(not srv.errors, "server errors %r" % srv.errors)
    check([r[0] for r in srv.requests] == [RESUME, SUSPEND, RESUMEFAIL],
          "types %r" % [r[0] for r in srv.requests])
    for (type_, body, rest), prog in zip(srv.requests, (
            "ccslurm-resume", "ccslurm-suspend", "ccslurm-resumefail")):
        check(body["hostlist"] == "hpc-[1-2]", "hostlist %r" % body)
        check(body["program"] == prog, "program %r" % body)
        check(str(uuid.UUID(body["id"])) == body["id"], "id %r" % body)
        check(isinstance(body["pid"], int) and body["pid"] > 0, "pid")
        check(body["wait"] is False, "wait")
        check("resume_file" not in body, "no resume_file")
        check(rest == b"", "trailing bytes %r" % rest)
    check(len({r[1]["id"] for r in srv.requests}) == 3, "ids unique")
    check(spooled(spool) == [], "nothing spooled")


def t_resume_file(d, env, spool):
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack")
    rf = {"jobs": [{"job_id": 17, "nodes": "hpc-[1-2]"}],
          "all_nodes": "hpc-[1-2]"}
    p = os.path.join(d, "resume.json")
    with open(p, "w") as f:
        json.dump(rf, f)
    rc, err, _ = run_shim("ccslurm-resume", ["hpc-[1-2]"],
                          dict(env, SLURM_RESUME_FILE=p))
    check(rc == 0, "resume file: exit %d %s" % (rc, err))
    # A file that is not JSON: warn, send without it, still succeed.
    with open(p, "w") as f:
        f.write("{not json")
    rc, err, _ = run_shim("ccslurm-resume", ["hpc-1"],
                          dict(env, SLURM_RESUME_FILE=p))
    check(rc == 0, "bad resume file: exit %d" % rc)
    check("not a JSON object" in err and "sending without it" in err,
          "bad resume file warning: %r" % err)
    rc, err, _ = run_shim("ccslurm-resume", ["hpc-1"],
                          dict(env, SLURM_RESUME_FILE=d + "/missing"))
    check(rc == 0 and "sending without it" in err, "missing resume file")
    # Suspend ignores it.
    rc, err, _ = run_shim("ccslurm-suspend", ["hpc-1"],
                          dict(env, SLURM_RESUME_FILE=d + "/missing"))
    check(rc == 0 and err.count("\n") == 1, "suspend: %r" % err)
    srv.close()
    bodies = [r[1] for r in srv.requests]
    check(len(bodies) == 4, "4 requests, got %d" % len(bodies))
    check(bodies[0].get("resume_file") == rf, "forwarded content %r" %
          bodies[0])
    check(all("resume_file" not in b for b in bodies[1:]), "no file after")
    check(p not in json.dumps(bodies), "the path is never sent")


def t_refused(d, env, spool):
    srv = Daemon(env["CCSLURMD_SOCKET"], "refuse")
    rc, err, _ = run_shim("ccslurm-resume", ["hpc-9"], env)
    srv.close()
    check(rc == 1, "refused: exit %d" % rc)
    check(err == "ccslurm-resume: error: resume hpc-9: refused by ccslurmd: "
          "unknown node hpc-9\n", "refused message %r" % err)
    check(spooled(spool) == [], "refused is not spooled")


def t_bad_hostlist(d, env, spool):
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack")
    for bad in ("n[1-2]-ib", "n[3-1]", ""):
        rc, err, _ = run_shim("ccslurm-suspend", [bad], env)
        check(rc == 1, "bad hostlist %r: exit %d" % (bad, rc))
        check(err.count("\n") == 1 and "error:" in err,
              "one line for %r: %r" % (bad, err))
    srv.close()
    check(srv.requests == [], "nothing sent for a bad hostlist")
    check(spooled(spool) == [], "nothing spooled for a bad hostlist")


def t_usage(d, env, spool):
    rc, err, _ = run_shim("ccslurm-resume", [], env)
    check(rc == 2 and "usage: ccslurm-resume HOSTLIST" in err, "no arg")
    rc, err, _ = run_shim("ccslurm-resume", ["a", "b"], env)
    check(rc == 2, "two args: %d" % rc)
    os.symlink(os.path.join(BIN, "ccslurm-resume"), os.path.join(d, "other"))
    p = subprocess.run([os.path.join(d, "other"), "n1"], env=env,
                       capture_output=True)
    check(p.returncode == 2 and b"not as other" in p.stderr,
          "unknown name: %d %r" % (p.returncode, p.stderr))


def spool_case(d, env, spool, mode, prog="ccslurm-suspend", **kw):
    srv = Daemon(env["CCSLURMD_SOCKET"], mode) if mode else None
    rc, err, dt = run_shim(prog, ["htc-[1-3]"], env, **kw)
    if srv:
        srv.close()
    check(rc == 0, "%s: exit %d %r" % (mode, rc, err))
    files = spooled(spool)
    check(len(files) == 1, "%s: spooled %r" % (mode, files))
    if files:
        p = os.path.join(spool, files[0])
        check(os.stat(p).st_mode & 0o777 == 0o600, "mode 0600")
        with open(p) as f:
            body = json.load(f)
        check(body["hostlist"] == "htc-[1-3]" and body["version"] == 1 and
              body["uid"] == os.getuid() and body["type"] ==
              prog.split("-", 1)[1], "spooled body %r" % body)
        check(files[0] == "%016d-%s.req" % (body["time"], body["id"]),
              "file name %s" % files[0])
        if srv and srv.requests:
            # The daemon may have it already: same id, so it drops one.
            check(srv.requests[0][1]["id"] == body["id"], "same id")
    check([f for f in os.listdir(spool) if f.startswith(".")] == [],
          "no temporary left")
    return err, dt


def t_spool_unreachable(d, env, spool):
    err, dt = spool_case(d, env, spool, None)
    check("spooled as" in err and "No such file" in err, "said %r" % err)
    check(0.3 <= dt < 3, "retried for the window: %.2fs" % dt)


def t_spool_refused_connection(d, env, spool):
    # A stale socket file: nobody listens.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(env["CCSLURMD_SOCKET"])
    s.close()
    err, _ = spool_case(d, env, spool, None)
    check("Connection refused" in err, "said %r" % err)


def t_spool_version(d, env, spool):
    err, dt = spool_case(d, env, spool, "version")
    check("protocol version 2" in err and "spooled as" in err,
          "said %r" % err)
    check(dt < 1.5, "version mismatch does not wait: %.2fs" % dt)


def t_spool_ack_timeout(d, env, spool):
    err, dt = spool_case(d, env, spool, "silent",
                         prog="ccslurm-resumefail")
    check("timed out" in err, "said %r" % err)
    check(2.0 <= dt < 5, "waited for the ack: %.2fs" % dt)


def t_spool_hangup(d, env, spool):
    err, _ = spool_case(d, env, spool, "hangup")
    check("connection closed" in err, "said %r" % err)


def t_closed_std(d, env, spool):
    # stdout and stderr closed: the request still goes out whole, and
    # nothing the shim says lands on the socket (checked by the server).
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack")
    rc, _, _ = run_shim("ccslurm-resume", ["hpc-[1-2]"], env, close_std=True)
    rc2, _, _ = run_shim("ccslurm-resume", ["hpc-[1-2]-ib"], env,
                      close_std=True)
    srv.close()
    check(rc == 0, "closed std: exit %d" % rc)
    check(rc2 == 1, "closed std, bad hostlist: exit %d" % rc2)
    check(len(srv.requests) == 1 and srv.requests[0][2] == b"",
          "one clean request %r" % srv.requests)
    check(not srv.errors, "server errors %r" % srv.errors)
    # Spooling with closed fds works too.
    os.unlink(env["CCSLURMD_SOCKET"])
    rc, _, _ = run_shim("ccslurm-suspend", ["hpc-3"], env, close_std=True)
    check(rc == 0 and len(spooled(spool)) == 1, "closed std spool")


def t_daemon_restarting(d, env, spool):
    # The socket appears only after the shim started: it must wait for it.
    env = dict(env, CCSLURM_SHIM_RETRY_MS="5000")
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack", delay_bind=0.4)
    rc, err, dt = run_shim("ccslurm-suspend", ["hpc-1"], env)
    srv.close()
    check(rc == 0 and "accepted" in err, "restart: %d %r" % (rc, err))
    check(len(srv.requests) == 1, "sent once")
    check(spooled(spool) == [], "not spooled")


def t_spool_unwritable(d, env, spool):
    env = dict(env, CCSLURMD_SPOOL=os.path.join(d, "nope"))
    rc, err, _ = run_shim("ccslurm-suspend", ["hpc-1"], env)
    check(rc == 1 and "could not be spooled" in err, "%d %r" % (rc, err))


def t_speed(d, env, spool):
    srv = Daemon(env["CCSLURMD_SOCKET"], "ack")
    shim, true = [], []
    for _ in range(30):
        t0 = time.monotonic()
        subprocess.run(["/bin/true"], env=env)
        true.append(time.monotonic() - t0)
        _, _, dt = run_shim("ccslurm-resume", ["hpc-[1-100]"], env)
        shim.append(dt)
    srv.close()
    ms, mt = statistics.median(shim) * 1000, statistics.median(true) * 1000
    print("     shim round trip: median %.2f ms; /bin/true: %.2f ms" %
          (ms, mt))
    check(len(srv.requests) == 30, "30 acks")
    # Under ASan (scripts/test-sanitizers) a process start costs ~10x.
    limit = 500 if "ASAN_OPTIONS" in os.environ else 50
    check(ms < limit, "a shim call costs %.1f ms" % ms)


def main():
    global BIN
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BIN = os.path.abspath(sys.argv[1])
    for fn in (t_ack, t_resume_file, t_refused, t_bad_hostlist, t_usage,
               t_spool_unreachable, t_spool_refused_connection,
               t_spool_version, t_spool_ack_timeout, t_spool_hangup,
               t_closed_std, t_daemon_restarting, t_spool_unwritable,
               t_speed):
        case(fn)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)
    print("all shim checks passed")


if __name__ == "__main__":
    main()
