#!/usr/bin/env bash
# Rebuilds src/colonies/dashboard/static/vendor from the npm registry at pinned versions, byte for byte.
# No bundler: the files are the packages' own ES modules (and dagre's own browser build), copied as published.
# One edit: @noble/hashes' utils.js imports the bare specifier '@noble/hashes/crypto', which a browser cannot
# resolve without an import map (inline script, refused by our CSP); it is pointed at the sibling ./crypto.js.
# Run: bash scripts/vendor-js.sh  (then `git diff --stat` shows nothing if the committed files are current).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=src/colonies/dashboard/static/vendor
SECP=@noble/secp256k1@2.3.0
HASHES=@noble/hashes@1.8.0
DAGRE=@dagrejs/dagre@1.1.4
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "$SECP" "$HASHES" "$DAGRE" >/dev/null)
for tgz in "$WORK"/*.tgz; do
  dir="$WORK/$(basename "$tgz" .tgz)"
  mkdir -p "$dir" && tar xzf "$tgz" -C "$dir"
done
rm -rf "$OUT" && mkdir -p "$OUT/noble-secp256k1" "$OUT/noble-hashes" "$OUT/dagre"
cp "$WORK"/noble-secp256k1-*/package/index.js "$WORK"/noble-secp256k1-*/package/LICENSE "$OUT/noble-secp256k1/"
for f in _md.js _u64.js crypto.js hmac.js sha2.js sha3.js utils.js; do
  cp "$WORK"/noble-hashes-*/package/esm/$f "$OUT/noble-hashes/"
done
cp "$WORK"/noble-hashes-*/package/LICENSE "$OUT/noble-hashes/"
sed -i "s#from '@noble/hashes/crypto'#from './crypto.js'#" "$OUT/noble-hashes/utils.js"
grep -q "from './crypto.js'" "$OUT/noble-hashes/utils.js"
# Source map comments would make the browser ask for files we do not ship.
sed -i '/^\/\/# sourceMappingURL=/d' "$OUT"/noble-hashes/*.js
cp "$WORK"/dagrejs-dagre-*/package/dist/dagre.min.js "$OUT/dagre/"
cp "$WORK"/dagrejs-dagre-*/package/LICENSE "$OUT/dagre/"
cat > "$OUT/VERSIONS.txt" <<VERSIONS
Vendored by scripts/vendor-js.sh from the npm registry; do not edit by hand.
$SECP       noble-secp256k1/  (MIT) signing: recoverable ECDSA on secp256k1
$HASHES        noble-hashes/     (MIT) SHA3-256 (ids, payload digests), HMAC-SHA256 (RFC 6979 nonces)
$DAGRE     dagre/            (MIT) layered DAG layout for the workflow page
VERSIONS
echo "vendored into $OUT:"; (cd "$OUT" && find . -type f | sort | xargs wc -c | tail -n 1)
