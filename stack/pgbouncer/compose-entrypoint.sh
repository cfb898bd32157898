#!/bin/sh
# Entrypoint of the pgbouncer service of docker-compose.yml. It starts as
# root only to install the TLS files named in compose.ini, readable by the
# image's unprivileged user (the mounted .stack/certs keep the owner and
# mode of the host), then runs PgBouncer as that user.
set -eu

certs_in=/run/stack-certs    # ./.stack/certs, mounted read-only
certs=/etc/pgbouncer/certs   # *_tls_*_file in compose.ini
for f in ca.crt server.crt server.key; do
	if [ ! -r "$certs_in/$f" ]; then
		echo "pgbouncer: $certs_in/$f is missing: run make up, which writes .stack/certs before it starts compose" >&2
		exit 1
	fi
done

# The image gives /etc/pgbouncer to the user PgBouncer runs as.
user=$(stat -c %U /etc/pgbouncer)
if [ "$user" = root ]; then
	echo "pgbouncer: /etc/pgbouncer is owned by root; PgBouncer refuses to run as root" >&2
	exit 1
fi
install -d -o "$user" -m 0700 "$certs"
install -o "$user" -m 0644 "$certs_in/ca.crt" "$certs/ca.crt"
install -o "$user" -m 0644 "$certs_in/server.crt" "$certs/server.crt"
install -o "$user" -m 0600 "$certs_in/server.key" "$certs/server.key"

exec pgbouncer -u "$user" /etc/pgbouncer/compose.ini
