# The two commands of the README, and a few for developers.
# Each installs what it needs first (.ci/setup: idempotent, versions pinned).

.PHONY: run run-release release test setup lint sqlx-prepare screenshots rotate-jwt-key bench bench-http bench-stores bench-scale redis

# Serve the app on http://127.0.0.1:3000, with its SQLite database in ./data.
run:
	.ci/setup
	cargo leptos serve

# The optimised build (wasm-opt from npm's binaryen), and what a browser downloads for it.
release:
	.ci/setup --release
	.ci/release-build

# Serve the optimised build on http://127.0.0.1:3000 (make run stays a debug build, for fast
# rebuilds).
run-release:
	.ci/setup --release
	PATH="$(CURDIR)/.tools/binaryen/node_modules/.bin:$$PATH" cargo leptos serve --release

# Every test: Rust unit and integration tests, Playwright in Chromium, then Schemathesis
# against the JSON API's OpenAPI document.
test:
	.ci/setup --test
	cargo test --features ssr
	.ci/end2end
	.ci/schemathesis

setup:
	.ci/setup --test

# A Redis for SESSION_STORE=redis on 127.0.0.1:6379 (Debian's redis-server), in the foreground,
# keeping nothing on disk. Then, in another terminal:
#   SESSION_STORE=redis REDIS_URL=redis://127.0.0.1:6379 make run
redis:
	.ci/setup --redis
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no

lint:
	cargo fmt --all -- --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

# Renew .sqlx/ (the checked query metadata) after changing a query or a migration.
# Needs the sqlite3 command-line tool.
sqlx-prepare:
	rm -rf target/sqlx-prepare .sqlx && mkdir -p target/sqlx-prepare .sqlx
	cat migrations/*.sql | sqlite3 target/sqlx-prepare/schema.db
	touch src/db/*.rs
	SQLX_OFFLINE=false DATABASE_URL=sqlite:target/sqlx-prepare/schema.db \
		SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx cargo check --features ssr --lib --tests

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
	cargo bench --features ssr --bench scale

# Recognition with cookie sessions in memory, SQLite and Redis side by side (benches/stores.rs).
bench-stores:
	.ci/setup --redis
	cargo bench --features ssr --bench stores

# Whole requests against a release build under wrk: pages anonymous and signed in both ways,
# /api/me, sign-ins, and whether sign-ins starve pages (.ci/bench-http).
bench-http:
	.ci/setup --bench
	.ci/bench-http
