#!/bin/sh
# Entrypoint of the postgres and postgres-replica services of
# docker-compose.yml. It installs the TLS files where postgresql.conf
# expects them, owned by postgres with the modes PostgreSQL insists on (the
# mounted .stack/certs keep the owner and mode of the host); on the first
# start of a replica it clones the primary with pg_basebackup; then it runs
# the image's own entrypoint with the configuration shared with native mode.
#
# Usage: compose-entrypoint.sh primary|replica
set -eu

role=${1:-}
case "$role" in
primary | replica) ;;
*)
	echo "usage: $0 primary|replica (got '$role')" >&2
	exit 2
	;;
esac

certs_in=/run/stack-certs        # ./.stack/certs, mounted read-only
certs=/var/lib/postgresql/certs  # ssl_*_file in postgresql.conf
for f in ca.crt server.crt server.key; do
	if [ ! -r "$certs_in/$f" ]; then
		echo "$role: $certs_in/$f is missing: run make up, which writes .stack/certs before it starts compose" >&2
		exit 1
	fi
done
install -d -o postgres -g postgres -m 0700 "$certs"
install -o postgres -g postgres -m 0644 "$certs_in/ca.crt" "$certs/ca.crt"
install -o postgres -g postgres -m 0644 "$certs_in/server.crt" "$certs/server.crt"
install -o postgres -g postgres -m 0600 "$certs_in/server.key" "$certs/server.key"

# A replica starts from a base backup of the primary, taken once into an
# empty data directory. -R writes standby.signal and primary_conninfo (this
# connection string, TLS verified against the stack's CA); -C -S replica1
# creates the slot that keeps the primary's WAL until the replica has it.
if [ "$role" = replica ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	primary="host=postgres port=5432 user=postgres password=postgres"
	primary="$primary sslmode=verify-full sslrootcert=$certs/ca.crt"
	tries=0
	until gosu postgres pg_isready -q -d "$primary"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 120 ]; then
			echo "replica: primary postgres:5432 not ready after 120 tries" >&2
			exit 1
		fi
		sleep 1
	done
	# The slot of an earlier replica whose volume was removed would make -C fail.
	gosu postgres psql -X -q -v ON_ERROR_STOP=1 -d "$primary dbname=postgres" -c \
		"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		 WHERE slot_name = 'replica1' AND NOT active" >/dev/null
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 0700 "$PGDATA"
	gosu postgres pg_basebackup -d "$primary" -D "$PGDATA" -R -X stream -C -S replica1
fi

exec docker-entrypoint.sh postgres \
	-c config_file=/etc/postgresql/postgresql.conf \
	-c hba_file=/etc/postgresql/pg_hba.conf
