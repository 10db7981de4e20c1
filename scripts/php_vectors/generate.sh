#!/usr/bin/env bash
# Regenerate tests/kassanet/fixtures/php_vectors.json with the real PHP CLI.
#
# Needs php-cli with the openssl extension (Debian: apt-get install -y php8.2-cli). OpenSSL 3
# only offers Blowfish through its legacy provider, which openssl.cnf here enables.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/tests/kassanet/fixtures/php_vectors.json"

mkdir -p "$(dirname "$out")"
OPENSSL_CONF="$here/openssl.cnf" php "$here/vectors.php" > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
