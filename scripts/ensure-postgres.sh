#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries the Postgres test suites start (initdb, pg_ctl, postgres;
# see test/support/postgres.ts) and the `postgres` OS user they run as (initdb refuses root) exist.
# Installs Debian's `postgresql` package only when no initdb is found; starts no server (the package's
# own cluster service is not used: each suite starts a throw-away server of its own).
set -euo pipefail

find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | grep . && return 0
  return 1
}

if ! initdb="$(find_initdb)"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-postgres: initdb not found, and installing Debian's postgresql needs root" >&2
    exit 1
  fi
  echo "ensure-postgres: installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A policy-rc.d answering 101 keeps the package from starting its own cluster service.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  initdb="$(find_initdb)"
fi

if ! id postgres >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-postgres: no postgres OS user, and creating it needs root" >&2
    exit 1
  fi
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

echo "ensure-postgres: $("$initdb" --version), OS user postgres (uid $(id -u postgres))"
