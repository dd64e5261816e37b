# The two commands of the README, and a few for developers.
# Each installs what it needs first (.ci/setup: idempotent, versions pinned).

.PHONY: run run-release release test setup lint sqlx-prepare screenshots rotate-jwt-key bench bench-http bench-stores bench-scale redis postgres cluster cluster-stop cluster-admin cluster-fail cluster-recover soak

# Serve the app on http://127.0.0.1:3000, with its SQLite database in ./data.
run:
	.ci/setup
	cargo leptos serve

# The optimised build (wasm-opt from npm's binaryen), and what a browser downloads for it.
release:
	.ci/setup --release
	.ci/release-build

# Serve the optimised build on http://127.0.0.1:3000, as make release built it (make run stays a
# debug build, for fast rebuilds).
run-release:
	.ci/setup --release
	.ci/release-build
	LEPTOS_SITE_ROOT=target/site target/release/ticketbooth

# Every test: Rust unit and integration tests, Playwright in Chromium, and Schemathesis against
# the JSON API's OpenAPI document; the integration tests, the browser tests and Schemathesis
# each twice (on SQLite, then on PostgreSQL, beside a throwaway cluster).
test:
	.ci/setup --test
	.ci/setup --release
	.ci/with-postgres .ci/rust-tests
	.ci/end2end
	E2E_RELEASE=1 .ci/end2end
	.ci/schemathesis
	.ci/with-postgres sh -c '.ci/end2end && .ci/schemathesis'

setup:
	.ci/setup --test

# A Redis for SESSION_STORE=redis on 127.0.0.1:6379 (Debian's redis-server), in the foreground,
# keeping nothing on disk; with REDIS_AOF=yes it logs every write to an append-only file in
# ./data/redis, so that a restart of Redis keeps the sessions. Then, in another terminal:
#   SESSION_STORE=redis REDIS_URL=redis://127.0.0.1:6379 make run
REDIS_AOF ?= no
redis:
	.ci/setup --redis
	mkdir -p data/redis
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly $(REDIS_AOF) --dir data/redis

# Three instances (A, B, C) behind HAProxy's two doors, round-robin on :8080 and sticky on
# :8081, with PostgreSQL and Redis, all in the background, their data in ./data/cluster
# (.ci/cluster). CLUSTER_STORE=postgres|redis|memory keeps the cookie sessions there;
# CLUSTER_REDIS_AOF=yes gives Redis its append-only file; CLUSTER_PORT moves the doors.
cluster:
	.ci/setup --release
	.ci/setup --cluster
	.ci/cluster start

# Ends everything make cluster started, by process id (its data stays in ./data/cluster).
cluster-stop:
	.ci/cluster stop

# The cluster under steady load (wrk) for each store, in folders of its own: a drill through each
# door, a rolling restart, a kill -9, and how long a kill takes to reach every instance; prints
# the table of the README's "Several servers" section (.ci/soak). SOAK_STORES picks the stores.
soak:
	.ci/setup --release
	.ci/setup --cluster
	.ci/setup --bench
	.ci/soak

# The store falls over: make cluster-fail WHAT=redis (killed) or WHAT=postgres (stopped as a
# crash); run the /cluster page's drill meanwhile. make cluster-recover starts it again.
cluster-fail:
	.ci/cluster fail "$(WHAT)"

cluster-recover:
	CLUSTER_BUILD=no .ci/cluster start

# Make an account of the running cluster an administrator: make cluster-admin NAME=alice
cluster-admin:
	.ci/cluster admin "$(NAME)"

# A PostgreSQL for DATABASE_URL=postgres://… on 127.0.0.1:5432 (Debian's postgresql), in the
# foreground, its cluster in ./data/postgres. Then, in another terminal:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/ticketbooth make run
postgres:
	.ci/setup --postgres
	.ci/postgres-server

lint:
	cargo fmt --all -- --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --lib --features hydrate,lazy-pages --target wasm32-unknown-unknown -- -D warnings

# Renew .sqlx/ (the checked query metadata of both databases) after changing a query or a
# migration. Each database's queries are checked against a fresh schema of their own, in a
# build that leaves the other database's module out (src/db/mod.rs). Needs sqlite3 and
# Debian's postgresql (a throwaway cluster, .ci/with-postgres).
sqlx-prepare:
	rm -rf target/sqlx-prepare/schema.db .sqlx && mkdir -p target/sqlx-prepare .sqlx
	cat migrations/sqlite/*.sql | sqlite3 target/sqlx-prepare/schema.db
	touch src/db/mod.rs
	SQLX_OFFLINE=false DATABASE_URL=sqlite:target/sqlx-prepare/schema.db \
		SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx RUSTFLAGS='--cfg sqlx_prepare="sqlite"' \
		CARGO_TARGET_DIR=target/sqlx-prepare/sqlite cargo check --features ssr --lib --tests
	.ci/with-postgres sh -c 'for f in migrations/postgres/*.sql; do \
		psql -q -v ON_ERROR_STOP=1 "$$TEST_POSTGRES_URL" -f "$$f" || exit 1; done && \
		SQLX_OFFLINE=false DATABASE_URL="$$TEST_POSTGRES_URL" \
		SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx RUSTFLAGS='"'"'--cfg sqlx_prepare="postgres"'"'"' \
		CARGO_TARGET_DIR=target/sqlx-prepare/postgres cargo check --features ssr --lib --tests'

# Retake the README's screenshots against a fresh server.
screenshots:
	.ci/setup --test
	E2E_SCREENSHOTS=1 .ci/end2end

# A new current JWT signing key in data/jwt-keys.json; restart the server to sign with it.
rotate-jwt-key:
	cargo run --features ssr --bin ticketbooth -- rotate-jwt-key

# What recognising a request costs per mode, and what an insert into the in-memory tables costs
# when they hold a million entries, in an optimised build (see benches/).
bench:
	.ci/setup --redis
	cargo bench --features ssr --bench recognition
	cargo bench --features ssr --bench tables
	cargo bench --features ssr --bench stores

# Each session store at 1 000 and at 1 000 000 sessions (benches/scale.rs; BENCH_SESSIONS=...).
bench-scale:
	.ci/setup --redis
	.ci/setup --postgres
	.ci/with-postgres cargo bench --features ssr --bench scale

# Recognition with cookie sessions in memory, SQLite, PostgreSQL and Redis side by side
# (benches/stores.rs), beside a throwaway PostgreSQL cluster.
bench-stores:
	.ci/setup --redis
	.ci/setup --postgres
	.ci/with-postgres cargo bench --features ssr --bench stores

# Whole requests against a release build under wrk: pages anonymous and signed in both ways,
# /api/me, sign-ins, and whether sign-ins starve pages (.ci/bench-http).
bench-http:
	.ci/setup --bench
	.ci/bench-http
