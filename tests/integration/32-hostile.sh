#!/bin/bash
# 32-hostile.sh: hostile clients of the control socket, all at once: garbage
# bytes, a frame header claiming 4 GiB, clients that connect and never
# write, a flood of 1,000 connections, and a slow reader of a large reply
# (NODES of 10,000 nodes).  Each is refused or dropped; meanwhile a real
# shim resume succeeds promptly (accepted, or spooled when the daemon says
# "busy", and then carried out from the spool), and ping answers within 1 s
# throughout: answered, or (while the flood holds every one of the 512 peer
# slots) told "busy" at once, never left hanging.  The daemon survives and
# forgets every hostile peer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hardening.sh"

hd_init
ccs_start_fake "$CCS_SOURCE_DIR/tests/fake/arrays-large.json"
ccs_write_config
sed -i 's/^  level: debug$/  level: info/' "$CCS_CONFIG"
ccs_start_daemon
ccs_wait_for 30 "the start-up listing" bash -c \
    '"$0" -s "$1" status --json | grep -q "\"starting\":false"' \
    "$CCSLURMCTL" "$CCS_SOCKET"

ccs_step "hostile clients, all at once, while real requests are made"
"$CCS_PYTHON" - "$CCS_SOCKET" "$CCSLURMCTL" "$CCS_SHIM_DIR/ccslurm-resume" \
    "$CCS_T/hostile.out" <<'PY' || ccs_fail "hostile clients"
import json, os, socket, struct, subprocess, sys, threading, time
path, ctl, shim, out = sys.argv[1:5]
MAGIC, NODES = 0x43435344, 204
errors = []

def conn(timeout=30):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s

def frame(t, body=b"{}", length=None):
    return struct.pack(">IHHI", MAGIC, 1, t,
                       len(body) if length is None else length) + body

def read_all(s):
    data = b""
    while True:
        try:
            c = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not c:
            break
        data += c
    return data

def expect_error_or_drop(what, payload):
    try:
        s = conn()
        s.sendall(payload)
        data = read_all(s)
        s.close()
    except (BrokenPipeError, ConnectionResetError):
        return
    if data:
        magic, ver, t, n = struct.unpack(">IHHI", data[:12])
        if t != 2000:
            errors.append("%s: answered with type %d, not an error" % (what, t))

pings = []
def pinger(stop):
    while not stop.is_set():
        t0 = time.monotonic()
        r = subprocess.run([ctl, "-s", path, "ping"], capture_output=True)
        pings.append((time.monotonic() - t0, r.returncode,
                      b"busy" in r.stderr, r.stderr))
        time.sleep(0.1)

stop = threading.Event()
pt = threading.Thread(target=pinger, args=(stop,))
pt.start()

# Silent clients: connect and never write (dropped after the 5 s read timeout).
silent = [conn() for _ in range(20)]

# The slow reader: asks for all 10,000 nodes, reads 1 KiB a second.
slow = conn()
slow.sendall(frame(NODES, b'{}'))
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

# Garbage and a 4 GiB header, from several threads, repeatedly.
def garbage():
    for i in range(50):
        expect_error_or_drop("garbage", os.urandom(64 + i))
        expect_error_or_drop("4 GiB header", frame(NODES, b"", 0xFFFFFFFF))
gts = [threading.Thread(target=garbage) for _ in range(4)]
for t in gts:
    t.start()

# The flood: 1,000 connections at once, held open.
flood, refused = [], 0
for _ in range(1000):
    try:
        flood.append(conn())
    except OSError:
        refused += 1

# A real resume while all of that is going on.
t0 = time.monotonic()
r = subprocess.run([shim, "htc-[1-3]"], capture_output=True, text=True)
shim_s = time.monotonic() - t0
if r.returncode != 0:
    errors.append("shim resume failed: %d %s" % (r.returncode, r.stderr))
if shim_s > 5:
    errors.append("shim resume took %.2f s" % shim_s)

for t in gts:
    t.join()
# The flood's peers get "busy" beyond the limit, the others are dropped
# at the read timeout: every one of them must end, none may hang.
busy = dropped = 0
for s in flood:
    data = read_all(s)
    s.close()
    if b"busy" in data:
        busy += 1
    else:
        dropped += 1
for s in silent:
    if read_all(s):
        errors.append("a silent client got an answer")
    s.close()

# The slow reader: the daemon gives up on it (write timeout) or it gets
# everything; meanwhile pings went on.
got = 0
slow.settimeout(1)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        c = slow.recv(1024)
    except socket.timeout:
        continue
    except ConnectionResetError:
        break
    if not c:
        break
    got += len(c)
    time.sleep(0.05)
slow.close()

stop.set()
pt.join()
worst = max(p[0] for p in pings)
failed = sum(1 for p in pings if p[1] != 0 and not p[2])
busy_pings = sum(1 for p in pings if p[1] != 0 and p[2])
with open(out, "w") as f:
    f.write("shim %.3f s: %s\n" % (shim_s, r.stderr.strip()))
    f.write("flood: %d busy, %d dropped, %d refused by connect\n" %
            (busy, dropped, refused))
    f.write("slow reader: %d bytes before the daemon closed\n" % got)
    f.write("pings: %d, slowest %.3f s, %d told busy, %d failed\n" %
            (len(pings), worst, busy_pings, failed))
if worst >= 1.0:
    errors.append("a ping took %.3f s" % worst)
if failed:
    errors.append("%d pings failed other than busy: %r" % (failed, [p[3] for p in pings if p[1] and not p[2]][:2]))
if pings[-1][1] != 0:
    errors.append("the last ping, after the flood, failed")
for e in errors:
    print("FAIL:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
cat "$CCS_T/hostile.out" >&2

ccs_step "the daemon lives on, forgets the hostile peers, and did the resume"
ccs_ctl ping >/dev/null || ccs_fail "the daemon did not survive"
peers1() {
	[ "$(ccs_ctl status --json | ccs_json 'd["peers"]')" = 1 ]
}
ccs_wait_for 20 "every hostile peer forgotten" peers1
hd_wait_settled 60 'htc-[1-3]'
ccs_assert_eq 3 "$(hd_count_state 'htc-[1-3]' ready)" "htc-1..3 ready"
bad=$(ccs_ctl metrics | sed -n 's/^ccslurmd_control_bad_frames_total //p')
ccs_log "bad frames counted: ${bad:-?}"
ccs_stop_daemon
