#!/bin/sh
# mkcerts.sh OUTDIR: test TLS material for the fake CycleCloud server.
#
#   ca.pem, ca-key.pem          the test CA
#   server.pem, server-key.pem  server cert for 127.0.0.1, ::1 and localhost,
#                               signed by the test CA
#   wrong-ca.pem                an unrelated CA (verification must fail)
#   expired.pem, expired-key.pem  a server cert signed by the test CA whose
#                               notAfter lies in the past
#
# Keys are unencrypted and for tests only.  Re-running overwrites OUTDIR's files.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: mkcerts.sh OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
cd "$out"
umask 077

ext=$(mktemp)
trap 'rm -f "$ext" server.csr expired.csr ca.srl' EXIT
cat >"$ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
EXT

ca() { # ca NAME CN: a self-signed CA, NAME.pem and NAME-key.pem
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
	    -keyout "$1-key.pem" -out "$1.pem" -subj "/CN=$2" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # leaf NAME DAYS: a server cert signed by ca.pem
	openssl req -new -newkey rsa:2048 -nodes -sha256 \
	    -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=localhost" 2>/dev/null
	# -days -1 puts notAfter one day before now: an expired certificate.
	openssl x509 -req -sha256 -in "$1.csr" -CA ca.pem -CAkey ca-key.pem \
	    -CAcreateserial -days "$2" -extfile "$ext" -out "$1.pem" 2>/dev/null
}

ca ca "ccslurmd test CA"
ca wrong-ca "unrelated test CA"
rm -f wrong-ca-key.pem
leaf server 825
leaf expired -1
chmod 644 ca.pem wrong-ca.pem server.pem expired.pem
echo "mkcerts: test CA and certificates written to $out"
