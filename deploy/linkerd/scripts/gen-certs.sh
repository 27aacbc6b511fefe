#!/usr/bin/env bash
# Generate Linkerd's mTLS roots with openssl: an ECDSA P-256 trust anchor (self-signed CA,
# 10 years) and an identity issuer (intermediate CA signed by it, 1 year, may sign only leaf
# certificates). Linkerd's identity service signs every proxy's 24 h certificate with the issuer.
#
#   scripts/gen-certs.sh [DIR]     # default DIR: deploy/linkerd/certs (git-ignored)
#
# Writes ca.crt, ca.key, issuer.crt, issuer.key. Keep ca.key offline: it is only needed to
# rotate the issuer. Refuses to overwrite existing files.
set -euo pipefail

dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/certs"}
trust_domain=${TRUST_DOMAIN:-cluster.local}
mkdir -p "$dir"
for f in ca.crt ca.key issuer.crt issuer.key; do
  if [[ -e "$dir/$f" ]]; then
    echo "error: $dir/$f exists; move it away to generate new certificates" >&2
    exit 2
  fi
done
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = root.linkerd.${trust_domain}
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

cat >"$tmp/issuer.ext" <<CNF
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.ec"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/ca.ec" -out "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -config "$tmp/ca.cnf" -out "$dir/ca.crt"

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/issuer.ec"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/issuer.ec" -out "$dir/issuer.key"
openssl req -new -key "$dir/issuer.key" -subj "/CN=identity.linkerd.${trust_domain}" -out "$tmp/issuer.csr"
openssl x509 -req -in "$tmp/issuer.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -CAserial "$tmp/ca.srl" -sha256 -days 365 -extfile "$tmp/issuer.ext" -out "$dir/issuer.crt"

openssl verify -CAfile "$dir/ca.crt" "$dir/issuer.crt" >/dev/null
chmod 0644 "$dir/ca.crt" "$dir/issuer.crt"
echo "wrote $dir/{ca,issuer}.{crt,key} (ECDSA P-256; trust anchor CN root.linkerd.${trust_domain}, issuer expires in 365 days)"
