#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Reboot and resume, on one machine (DESIGN.md 3.2-3.3, docs/client.md, docs/cache.md).
#
# Starts a software TPM (swtpm) and a development broker (custosd --dev, SQLite, in a
# temporary directory), sets the policy docs/examples/policy-demo.json, a credential and a
# state key, then runs an agent (`custos agent`, attester "sim") that:
#   attests and fetches its credential; writes its state three times; saves a cache sealed
#   by the TPM; restarts and resumes from the broker; restarts with the broker stopped and
#   resumes from the sealed cache (and writes a fourth version offline); then, once the
#   broker is back, reconciles (the offline version is written back with compare-and-swap).
# Finally `custos audit verify` checks the broker's whole log, in which every step is a record.
#
# usage: scripts/demo.sh [BUILD_DIR]   (default: build; needs custos, custosd and swtpm)
# Exit 0 when every step did what it says, non-zero otherwise. Cleans up in every case.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
custos=$build/custos
custosd=$build/custosd
for b in "$custos" "$custosd"; do
    [ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 2; }
done
if ! command -v swtpm >/dev/null 2>&1; then
    echo "demo: swtpm is not installed (scripts/install-deps.sh installs it)" >&2
    exit 77
fi

dir=$(mktemp -d /tmp/custos-demo-XXXXXX)
swtpm_pid=
broker_pid=
cleanup() {
    status=$?
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null && wait "$swtpm_pid" 2>/dev/null
    if [ "$status" -ne 0 ]; then
        echo "demo: FAILED (exit $status); the broker said:" >&2
        tail -n 5 "$dir"/custosd*.log >&2 2>/dev/null || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
show() { # runs "$@", then prints what it said, indented; its failure fails the demo
    if "$@" >"$dir/said" 2>&1; then
        sed 's/^custos agent: //; s/^/   /' "$dir/said"
    else
        rc=$?
        sed 's/^/   /' "$dir/said"
        fail "step failed (exit $rc): $*"
    fi
}

# ---- a software TPM, as the agent's platform would have -----------------------------------
mkdir "$dir/tpm"
swtpm socket --tpm2 --server "type=unixio,path=$dir/tpm/sock" \
    --ctrl "type=unixio,path=$dir/tpm/sock.ctrl" --flags not-need-init,startup-clear \
    --tpmstate "dir=$dir/tpm" >/dev/null 2>&1 &
swtpm_pid=$!
i=0
while [ ! -S "$dir/tpm/sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$dir/tpm/sock" ] || fail "swtpm did not start"
tcti="swtpm:path=$dir/tpm/sock"

# ---- the broker ---------------------------------------------------------------------------
data=$dir/data
start_broker() { # $1: a number for the log and ready files; $2...: extra arguments
    n=$1
    shift
    "$custosd" --listen 127.0.0.1:0 --data-dir "$data" --ready-file "$dir/url$n" "$@" \
        2>"$dir/custosd$n.log" &
    broker_pid=$!
    i=0
    while [ ! -s "$dir/url$n" ] && [ $i -lt 200 ]; do
        kill -0 "$broker_pid" 2>/dev/null || fail "custosd exited (see its log above)"
        sleep 0.05
        i=$((i + 1))
    done
    [ -s "$dir/url$n" ] || fail "custosd did not start"
    url=$(cat "$dir/url$n")
}
stop_broker() {
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=
}

say "1. A development broker (custosd --dev) with SQLite storage in $dir"
start_broker 1 --dev
echo "   listening on $url; its audit log is signed with a fresh key"
admin="$custos admin --url $url --token-file $data/admin.token"

say "2. The operator sets the policy, a credential, the state key and the cache policy"
$admin policy set docs/examples/policy-demo.json >/dev/null
head -c 18 /dev/urandom | base64 >"$dir/db-password"
head -c 32 /dev/urandom >"$dir/state-key"
printf '{"max_offline_s": 600, "credentials": ["default/demo/db-password", "default/demo/state-key"]}' \
    >"$dir/cache-policy"
$admin resource set default/demo/db-password --file "$dir/db-password" >/dev/null
$admin resource set default/demo/state-key --file "$dir/state-key" >/dev/null
$admin resource set default/demo/cache-policy --file "$dir/cache-policy" >/dev/null
echo "   policy 'demo': identity demo may read default/demo/{db-password,state-key,cache-policy}"
echo "   and read/write its state object agent.cfg; the cache may be used offline for 600 s"
vkey=$(curl -s "$url/custos/v1/log/entry/0" | sed 's/.*"log_vkey":"\([^"]*\)".*/\1/')
case $vkey in *+*+*) ;; *) fail "no log verifier key in the broker's first record" ;; esac
echo "   the agent pins the log's verifier key: $vkey"

agent() { # a new process each time: "restarting the agent" is just running it again
    "$custos" agent --url "$url" --attester sim --data-dir "$data" --vkey "$vkey" \
        --state-file "$dir/agent.state" --identity demo "$@"
}
cache_opts="--cache $dir/agent.cache --provider tpm2 --cache-tcti $tcti --pcrs sha256:7"

say "3. The agent attests (KBS: a fresh TEE key bound into the evidence) and fetches its credential"
agent attest
agent get default/demo/db-password --out "$dir/got-password"
cmp -s "$dir/db-password" "$dir/got-password" || fail "the released credential differs"
echo "   credential released to the attested key and decrypted inside the agent: it matches"

say "4. The agent writes its state three times (sealed inside the agent, compare-and-swap)"
for v in 1 2 3; do
    printf 'config of the demo agent, version %s\n' "$v" >"$dir/cfg$v"
    agent state put agent.cfg --file "$dir/cfg$v" --if-match $((v - 1))
done
show agent state get agent.cfg --out "$dir/read3"
cmp -s "$dir/cfg3" "$dir/read3" || fail "state read back differs"

say "5. The agent saves a cache sealed by the TPM (to PCR 7, with an NV anti-rollback counter)"
# shellcheck disable=SC2086
agent cache save $cache_opts --keep default/demo/db-password --objects agent.cfg \
    --max-offline 3600 --cache-policy default/demo/cache-policy
echo "   it holds the credential, the state key, agent.cfg version 3 and the last checkpoint;"
echo "   the broker's cache policy caps the offline window at 600 s (the agent asked 3600)"

say "6. Restart with the broker up: the agent resumes from the broker (attests afresh)"
rm -f "$dir/got-password"
# shellcheck disable=SC2086
show agent cache resume $cache_opts get default/demo/db-password --out "$dir/got-password" \
    + state get agent.cfg --out "$dir/read-b"
cmp -s "$dir/db-password" "$dir/got-password" && cmp -s "$dir/cfg3" "$dir/read-b" ||
    fail "resume from the broker gave other data"

say "7. The broker goes down; the agent restarts and resumes from the sealed cache"
stop_broker
rm -f "$dir/got-password"
printf 'config of the demo agent, version 4 (written offline)\n' >"$dir/cfg4"
# shellcheck disable=SC2086
show agent cache resume $cache_opts get default/demo/db-password --out "$dir/got-password" \
    + state get agent.cfg --out "$dir/read-c" \
    + state put agent.cfg --file "$dir/cfg4" --if-match 3
cmp -s "$dir/db-password" "$dir/got-password" && cmp -s "$dir/cfg3" "$dir/read-c" ||
    fail "resume from the cache gave other data"
echo "   the TPM unsealed the cache key (same PCRs, current NV counter): credential and"
echo "   state are available with no broker; version 4 is kept in the cache, sealed again"

say "8. The broker is back; the agent reconciles the cache with it"
token=$(cat "$data/admin.token")
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
printf 'data_dir %s\nadmin_token dev-admin admin %s\ndcap_collateral_dir %s\ndcap_development_root yes\n' \
    "$data" "$hash" "$data/dev-attester/collateral" >"$dir/restart.conf"
start_broker 2 --config "$dir/restart.conf"
echo "   the same broker (same keys, same SQLite log) on $url"
# shellcheck disable=SC2086
show agent cache reconcile $cache_opts --objects agent.cfg
show agent state get agent.cfg --out "$dir/read-d"
cmp -s "$dir/cfg4" "$dir/read-d" || fail "the broker does not hold the offline version"
echo "   the version written offline is now version 4 on the broker, proven by its log"

say "9. The broker's audit log: one record per step (GET /custos/v1/log/entry/N)"
python3 - "$url" <<'PY'
import json, sys, urllib.request
url, i = sys.argv[1], 0
what = {
    "key": lambda r: f"broker key startup (log verifier {r.get('log_vkey', '')[:30]}...)",
    "admin": lambda r: f"operator {r.get('op')} {r.get('target', '')}",
    "auth": lambda r: "agent asks for a challenge (KBS auth)",
    "attest": lambda r: f"attestation {r.get('outcome')} as {','.join(r.get('identities', []))}",
    "release": lambda r: f"{r.get('resource')} released to the attested TEE key",
    "deny": lambda r: f"{r.get('action')} {r.get('resource')} denied ({r.get('reason')})",
    "state": lambda r: f"state {r.get('object')} version {r.get('version')} written (PoP)",
    "token": lambda r: f"token for {r.get('audience')}",
}
while True:
    try:
        with urllib.request.urlopen(f"{url}/custos/v1/log/entry/{i}") as f:
            r = json.load(f)
    except Exception:
        break
    print(f"   #{i:<3} {what.get(r.get('type'), lambda r: r.get('type'))(r)}")
    i += 1
PY

say "10. An auditor checks the whole log (custos audit verify): signed checkpoint, Merkle root,"
echo "    every record's schema, every release backed by an admitted attestation"
show "$custos" audit verify --url "$url" --vkey "$vkey"

say "Done: attest, release, three writes, a resume from the broker, a resume from the TPM-sealed"
echo "   cache with the broker down, reconciliation, and an audit log that proves each step."
