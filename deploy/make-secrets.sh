#!/usr/bin/env sh
# Writes the secrets deploy/docker-compose.yml reads, once: a random
# database password, the URL that carries it, and the gate's signing key
# (64 hex digits, an Ed25519 seed). An existing file is kept.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
[ -s secrets/postgres_password ] || random_hex 24 > secrets/postgres_password
[ -s secrets/database_url ] \
  || printf 'postgres://gatehouse:%s@postgres:5432/gatehouse\n' "$(cat secrets/postgres_password)" > secrets/database_url
[ -s secrets/signing_key ] || random_hex 32 > secrets/signing_key
# Compose mounts a file secret as it is on the host (owner and mode), and
# the containers run as uid 10001 (gatehouse) and 999 (postgres). As root,
# each file is given to the one user that reads it, mode 0600; otherwise
# they must be readable by all (0644), which is fine on a machine of your
# own only.
if [ "$(id -u)" -eq 0 ]; then
  chown 10001:10001 secrets/database_url secrets/signing_key
  chown 999:999 secrets/postgres_password
  chmod 0600 secrets/postgres_password secrets/database_url secrets/signing_key
else
  chmod 0644 secrets/postgres_password secrets/database_url secrets/signing_key
  echo "note: deploy/secrets/* are readable by every user of this machine (run as root to give them to the containers' users, mode 0600)" >&2
fi
echo "deploy/secrets: postgres_password, database_url, signing_key"
