#!/usr/bin/env bash
# Builds a stand-in for the official `node:20-bookworm-slim` image from this host's own files, for machines
# that cannot pull images (no registry but Debian's and npm's is reachable here). The Dockerfile takes it
# through `--build-arg NODE_IMAGE=<tag>`; on a machine that can pull, none of this is needed.
#
# What goes in, mirroring the official image's layout: the host's `node` binary at /usr/local/bin/node,
# npm at /usr/local/lib/node_modules/npm, a POSIX shell and the few tools `RUN` lines and npm scripts call
# (sh, cp, mkdir, chown, rm, ls, cat, env, ln, chmod, mv), every shared library `ldd` names for them,
# users root and node (1000:1000) and a writable /tmp. The host's CA bundle is copied too and named by
# NODE_EXTRA_CA_CERTS, because this machine reaches the npm registry through a TLS-intercepting egress proxy.
#
#   scripts/container/node-base-image.sh [tag]        # default tag localhost/convergence-node-base:host-<node version>
#   ENGINE=podman|docker                               # default: podman if present
#   ENGINE_GLOBAL_ARGS="--runtime runc"                # extra global engine flags, if any
#   NODE_BIN=/path/to/node                             # default: the node on PATH
set -euo pipefail

NODE_BIN="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
TAG="${1:-localhost/convergence-node-base:host-$("$NODE_BIN" --version | tr -d v)}"
ENGINE="${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"
read -r -a GLOBAL_ARGS <<< "${ENGINE_GLOBAL_ARGS:-}"

NPM_DIR="$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")"
TOOLS=(sh cp mkdir chown rm ls cat env ln chmod mv)

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT

# Debian's merged-/usr layout, so library paths from ldd land where the loader looks for them.
mkdir -p "$ROOT"/usr/{bin,lib,lib64,sbin,local/bin,local/lib/node_modules} "$ROOT"/{etc/ssl/certs,tmp,root,home/node,proc,sys,dev}
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$ROOT/$d"; done
chmod 1777 "$ROOT/tmp"
chown 1000:1000 "$ROOT/home/node"

copy_with_libs() {
  local bin="$1" dest="$2"
  cp -L "$bin" "$ROOT$dest"
  # ldd prints "name => /path (addr)" or "/path (addr)"; the vdso has no path.
  ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$ROOT$(dirname "$lib")"
    [ -e "$ROOT$lib" ] || cp -L "$lib" "$ROOT$lib"
  done
}

copy_with_libs "$NODE_BIN" /usr/local/bin/node
for tool in "${TOOLS[@]}"; do
  copy_with_libs "$(readlink -f "$(command -v "$tool")")" "/usr/bin/$tool"
done
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"

cat > "$ROOT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
PASSWD
cat > "$ROOT/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
GROUP
CA_ENV=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
  CA_ENV=(--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt")
fi

tar -C "$ROOT" --numeric-owner -cf - . | "$ENGINE" "${GLOBAL_ARGS[@]}" import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$("$NODE_BIN" --version | tr -d v)" \
  "${CA_ENV[@]}" \
  --change 'CMD ["node"]' \
  - "$TAG" >/dev/null
echo "$TAG: node $("$NODE_BIN" --version) from $NODE_BIN, npm $(npm --version), on $ENGINE"
