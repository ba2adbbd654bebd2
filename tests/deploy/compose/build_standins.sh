#!/usr/bin/env bash
# Builds, in the local Docker daemon only, stand-ins for the three public images that
# hub/deploy/compose.yaml and hub/deploy/Dockerfile name (python:3.11-slim, postgres:16,
# nginx:1.27), for test machines that reach Debian's mirror and PyPI but no image registry.
# Each comes from a Debian base made here with debootstrap and `docker import`
# (hub-standin/debian:bookworm, and :trixie for nginx); standins/*/Dockerfile says what each one
# emulates and how it differs. Every stand-in carries the label hub.standin, and an image
# already under one of those tags without that label (a real one, pulled from a registry) is
# never replaced.
#
#   build_standins.sh            build what is missing
#   build_standins.sh --rebuild  build the stand-ins again (the Debian bases are kept)
#   build_standins.sh --rebase   also make the Debian bases again
#
# Needs root, a running dockerd and debootstrap (only while a base is missing).
# HUB_STANDIN_MIRROR (default http://deb.debian.org/debian) is the Debian mirror;
# HUB_STANDIN_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt) the CA bundle the python
# stand-in trusts, so that pip reaches PyPI through whatever proxy this machine uses.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${HUB_STANDIN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${HUB_STANDIN_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
# the legacy builder: nothing here needs BuildKit, and a docker CLI without buildx has no other
export DOCKER_BUILDKIT=0

rebuild=0
rebase=0
for arg in "$@"; do
    case "$arg" in
        --rebuild) rebuild=1 ;;
        --rebase) rebuild=1; rebase=1 ;;
        *) echo "usage: $0 [--rebuild | --rebase]" >&2; exit 2 ;;
    esac
done

say() { echo "build_standins: $*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

standin_label() { docker image inspect -f '{{index .Config.Labels "hub.standin"}}' "$1" 2>/dev/null; }

# make_base SUITE: hub-standin/debian:SUITE from debootstrap --variant=minbase
make_base() {
    local suite="$1" tag="hub-standin/debian:$1" root
    if have_image "$tag" && [ "$rebase" = 0 ]; then
        return
    fi
    command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    root="$(mktemp -d /tmp/hub-standin-rootfs.XXXXXX)"
    # shellcheck disable=SC2064  # expand now: the trap must remove this very folder
    trap "rm -rf '$root'" EXIT
    say "debootstrap $suite into $root"
    debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$root.log" 2>&1 \
        || { tail -20 "$root.log" >&2; exit 1; }
    rm -f "$root.log"
    cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $suite main
deb $MIRROR $suite-updates main
deb ${MIRROR%/debian}/debian-security $suite-security main
EOF
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$root/etc/apt/apt.conf.d/90standin"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
    : >"$root/etc/hostname"
    : >"$root/etc/resolv.conf"
    tar -C "$root" -c . | docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --change "LABEL hub.standin=debian:$suite" \
        - "$tag" >/dev/null
    rm -rf "$root"
    trap - EXIT
    say "imported $tag"
}

# build_standin DIR TAG: standins/DIR/Dockerfile tagged TAG, unless TAG is a real image
build_standin() {
    local dir="$1" tag="$2" context
    if have_image "$tag"; then
        if [ -z "$(standin_label "$tag")" ]; then
            say "$tag is a real image here (no hub.standin label): kept, no stand-in built"
            return
        fi
        if [ "$rebuild" = 0 ]; then
            say "$tag: stand-in already built"
            return
        fi
    fi
    context="$(mktemp -d /tmp/hub-standin-context.XXXXXX)"
    cp -a "$HERE/standins/$dir/." "$context/"
    if [ "$dir" = python ]; then
        cp "$CA_BUNDLE" "$context/ca-bundle.crt"
    fi
    say "building $tag"
    # host network: apt and pip work even where the bridge has no way out (dockerd
    # --iptables=false)
    if ! docker build --network host -t "$tag" "$context" >"$context.log" 2>&1; then
        tail -40 "$context.log" >&2
        rm -rf "$context" "$context.log"
        exit 1
    fi
    rm -rf "$context" "$context.log"
    say "built $tag"
}

docker info >/dev/null 2>&1 || { say "no Docker daemon answers (start dockerd first: run.sh does)"; exit 1; }

make_base bookworm
make_base trixie
build_standin python python:3.11-slim
build_standin postgres postgres:16
build_standin nginx nginx:1.27
