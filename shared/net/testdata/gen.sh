#!/bin/sh
# Regenerates the test certificates (run from this folder): a CA, certificates for
# localhost/a.test/b.test signed by it, a second unrelated CA, and a self-signed cert.
set -e
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=Monkey Test CA" -keyout ca.key -out ca.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=Other Test CA" -keyout other_ca.key -out other_ca.pem
for name in localhost a.test b.test; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr"
  printf "subjectAltName=DNS:%s,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" "$name" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
    -extfile "$name.ext" -out "$name.pem"
  rm "$name.csr" "$name.ext"
done
rm -f ca.srl other_ca.key
