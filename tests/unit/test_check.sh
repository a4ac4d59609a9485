#!/bin/bash
# test_check.sh: `ccslurmctl check` against good and bad slurm.conf fixtures
# (tests/unit/slurmconf/), asserting each finding, the exit status, the
# socket findings, and that the text output is one line a finding.
#
#   test_check.sh PATH/TO/ccslurmctl
set -u
CTL=${1:?usage: test_check.sh CCSLURMCTL}
SRC=$(cd "$(dirname "$0")" && pwd)/slurmconf
T=$(mktemp -d /tmp/test_check.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The fixtures, with @DIR@ made this copy's path, and the programs they name.
cp -r "$SRC"/good "$SRC"/bad "$T"/
sed -i "s|@DIR@|$T/good|g" "$T"/good/slurm.conf
mkdir "$T"/good/bin
for s in ccslurm-resume ccslurm-suspend ccslurm-resumefail; do
	printf '#!/bin/sh\nexit 0\n' > "$T/good/bin/$s"
done
printf '#!/bin/sh\nCCSLURMD_SOCKET=/run/test.sock exec %s/good/bin/ccslurm-suspend "$@"\n' \
	"$T" > "$T"/good/bin/suspend-wrapper
chmod 755 "$T"/good/bin/*

# run NAME ARGS...: run check with --json, keep stdout in $T/NAME.json and
# the exit status in $T/NAME.rc.
run() {
	local name=$1; shift
	"$CTL" -s "$T/no.sock" check --json "$@" > "$T/$name.json" 2> "$T/$name.err"
	echo $? > "$T/$name.rc"
}

# finding NAME SEVERITY CHECK TEXT: the run NAME has a finding of CHECK with
# that severity whose message contains TEXT.
finding() {
	/usr/bin/python3 - "$T/$1.json" "$2" "$3" "$4" <<'PY' || fail "$1: no $2 $3 \"$4\""
import json, sys
doc = json.load(open(sys.argv[1]))
ok = any(f["severity"] == sys.argv[2] and f["check"] == sys.argv[3] and
         sys.argv[4] in f["message"] for f in doc["findings"])
if not ok:
    for f in doc["findings"]:
        if f["check"] == sys.argv[3]:
            print("  have:", f, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# nofinding NAME SEVERITY: no finding of that severity at all.
nofinding() {
	/usr/bin/python3 - "$T/$1.json" "$2" <<'PY' || fail "$1: has a $2 finding"
import json, sys
doc = json.load(open(sys.argv[1]))
bad = [f for f in doc["findings"] if f["severity"] == sys.argv[2]]
for f in bad:
    print("  unexpected:", f, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

rc_is() { [ "$(cat "$T/$1.rc")" = "$2" ] || fail "$1: exit $(cat "$T/$1.rc"), want $2"; }

# --- good: everything as prescribed, daemon not checked -----------------
run good --no-daemon --slurm-conf "$T/good/slurm.conf"
rc_is good 0
nofinding good error
finding good ok ResumeProgram "$T/good/bin/ccslurm-resume"
finding good ok SuspendProgram suspend-wrapper
finding good ok ResumeFailProgram ccslurm-resumefail
finding good ok ResumeRate "0 (unlimited)"
finding good ok SuspendRate "0 (unlimited)"
finding good ok ResumeTimeout "1800 s"
finding good ok SuspendTimeout "600 s"
finding good ok addresses cloud_reg_addrs
finding good ok Include "$T/good/sched/cyclecloud.conf"
finding good ok TreeWidth 65533
finding good ok PrivateData cloud
finding good ok TopologyPlugin topology/tree
finding good ok switches "every node is in a switch of $T/good/topology.conf"
finding good ok JobSubmitPlugins job_submit/cyclecloud
finding good ok GresTypes gpu
finding good warning ccslurmd "not checked"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["errors"] == 0 and sys.argv[2] in d["files"][1] else 1)' \
	"$T/good.json" cyclecloud.conf || fail "good: files/errors wrong"

# --- the site's own nodes in no switch: a warning naming them -------------
cp -r "$T/good" "$T/noswitch"
sed -i "s|$T/good|$T/noswitch|g" "$T/noswitch/slurm.conf"
sed -i '/^SwitchName=onprem/d' "$T/noswitch/topology.conf"
run noswitch --no-daemon --slurm-conf "$T/noswitch/slurm.conf"
rc_is noswitch 0
finding noswitch warning switches "4 node(s) in no switch of $T/noswitch/topology.conf (onprem1,onprem2,onprem3,onprem4)"
rm "$T/noswitch/topology.conf"
run noswitch2 --no-daemon --slurm-conf "$T/noswitch/slurm.conf"
finding noswitch2 warning switches "topology.conf: No such file"

# --- bad: one finding for each thing wrong ------------------------------
run bad --no-daemon --slurm-conf "$T/bad/slurm.conf"
rc_is bad 1
finding bad error ResumeProgram "/bin/true is not ccslurmd's shim"
finding bad error SuspendProgram "not set"
finding bad warning ResumeFailProgram "not set"
finding bad warning ResumeRate "300 limits"
finding bad warning SuspendRate "not set"
finding bad warning ResumeTimeout "300 s is shorter than a VM boot"
finding bad warning SuspendTimeout "30 s"
finding bad warning SuspendTime "not set"
finding bad error SlurmctldParameters "cloud_dns ($T/bad/slurm.conf:8)"
finding bad ok addresses "ccslurmd sets NodeAddr"
finding bad error Include "missing.conf: No such file"
finding bad error Include "cyclecloud.conf is not Included"
finding bad warning TreeWidth "50: set TreeWidth=65533"
finding bad warning PrivateData "jobs: add \"cloud\""
finding bad warning TopologyPlugin "topology/none"
finding bad warning JobSubmitPlugins "not set"
finding bad error GresTypes "not set: a node line has Gres= ($T/bad/nodes.conf:1)"

# --- text output: one line a finding, severity first --------------------
"$CTL" -s "$T/no.sock" check --no-daemon --slurm-conf "$T/bad/slurm.conf" > "$T/bad.txt"
[ $? = 1 ] || fail "bad (text): exit status not 1"
grep -qx "error   SlurmctldParameters: cloud_dns ($T/bad/slurm.conf:8): .*" "$T/bad.txt" ||
	fail "bad (text): no cloud_dns line"
n=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$T/bad.json")
[ "$(grep -cE '^(ok|warning|error) ' "$T/bad.txt")" = "$n" ] || fail "bad (text): not one line a finding"
tail -n1 "$T/bad.txt" | grep -qE '^[0-9]+ error\(s\), [0-9]+ warning\(s\)$' || fail "bad (text): no summary"

# --- the daemon side without a daemon: socket findings ------------------
run nosock --slurm-conf "$T/good/slurm.conf"
rc_is nosock 1
finding nosock error socket "$T/no.sock: No such file or directory (is ccslurmd running?)"
: > "$T/no.sock"
run notsock --slurm-conf "$T/good/slurm.conf"
rc_is notsock 1
finding notsock error socket "is not a socket"
rm -f "$T/no.sock"
# A socket nobody answers on (bound, not listening): refused, not hung.
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/no.sock"
run deadsock --slurm-conf "$T/good/slurm.conf"
rc_is deadsock 1
finding deadsock error ccslurmd "does not answer on $T/no.sock"

# --- usage and a missing slurm.conf --------------------------------------
"$CTL" check --bogus > /dev/null 2>&1; [ $? = 2 ] || fail "usage: exit not 2"
run missing --no-daemon --slurm-conf "$T/nope.conf"
rc_is missing 1
finding missing error slurm.conf "$T/nope.conf: No such file"

if [ $fails -ne 0 ]; then
	echo "test_check: $fails failure(s)"
	exit 1
fi
echo "test_check: all passed"
