#!/usr/bin/env bash
# Build a local Debian base image with debootstrap + docker import, for machines that
# cannot pull python:3.12-slim from a registry. Usage: make-base-image.sh [IMAGE_NAME]
# The image carries Python 3.11, venv, pip, git and the few tools sandboxes rely on.
set -euo pipefail
name="${1:-agentforge/base:bookworm}"
suite="${DEBIAN_SUITE:-bookworm}"

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "base image $name already present"; exit 0
fi

# Use the machine's own Debian mirror (deb822 or one-line sources), falling back to deb.debian.org.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^URIs:.*debian/?$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
           | awk '{print $2}' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb .*debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
           | grep -v security | awk '{print $2}' | head -n1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
root=$(mktemp -d /tmp/agentforge-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror into $root"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,python-is-python3,git,ca-certificates,procps,util-linux,patch,less \
  "$suite" "$root" "$mirror" >/tmp/agentforge-debootstrap.log 2>&1 \
  || { tail -n 30 /tmp/agentforge-debootstrap.log >&2; exit 1; }
# Keep the image small: apt lists and caches are not needed at run time.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
echo "built base image $name"
