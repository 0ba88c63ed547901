#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `custos policy` end to end: check (every example, lint errors, I/O errors), eval (allow,
# deny for each reason, the trace, a verdict converted with --fresh/--development, an
# unverified verdict refused, refvals, stdin) and usage errors, with their exit statuses
# (check 0/1, eval 0 allow / 1 deny, 2 usage or I/O). With ../shared present, also a real
# TDX quote: `custos verify --json` piped into `custos policy eval`.
# Usage: policy_cli.sh CUSTOS_BINARY SOURCE_DIR [SHARED_DIR]
set -eu
C=$1
SRC=$2
SHARED=${3:-}
EX=$SRC/docs/examples
P=$EX/policy-prod-tdx.json
FX=$SRC/tests/policy
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
    want=$1
    shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "rc $rc (want $want): $*"; }
}
has() { grep -qF -- "$1" "$T/$2" || { cat "$T/$2" >&2; fail "no '$1' in $2"; }; }

# check: every example
for f in "$EX"/*.json; do
    expect_rc 0 "$C" policy check "$f"
    has "policy ok: " out
done
expect_rc 0 "$C" policy check "$EX/policy-prod-tdx.json"
has "policy ok: prod-agents, 1 identities, 4 rules" out

# check: lint errors (exit 1, the path in the message), I/O and usage (exit 2)
cat >"$T/bad.json" <<'EOF'
{"version": 1, "id": "p", "rules": [{"id": "r", "effect": "allow", "identities": ["*"],
 "actions": ["*"], "resources": ["*"], "when": {"allOf": [{"claim": "debug", "eq": false}]}}]}
EOF
expect_rc 1 "$C" policy check "$T/bad.json"
has 'rules[0].when.allOf[0]: unknown operator "eq"' err
cat >"$T/integrity.json" <<'EOF'
{"version": 1, "id": "p",
 "identities": [{"name": "i", "platforms": ["tdx"], "protects": ["integrity"]}]}
EOF
expect_rc 1 "$C" policy check "$T/integrity.json"
has 'identities[0].match: integrity needs a measurement condition' err
printf 'not json' >"$T/junk.json"
expect_rc 1 "$C" policy check "$T/junk.json"
has 'policy: line 1' err
head -c 1048577 /dev/zero | tr '\0' ' ' >"$T/huge.json"
expect_rc 1 "$C" policy check "$T/huge.json"
has 'policy: larger than 1048576 bytes' err
expect_rc 2 "$C" policy check "$T/missing.json"
expect_rc 2 "$C" policy check
expect_rc 2 "$C" policy check a b
expect_rc 2 "$C" policy frobnicate
expect_rc 2 "$C" policy
expect_rc 0 "$C" policy --help
has "custos policy eval" out

# eval: the dev starter policy
expect_rc 0 "$C" policy eval --policy "$EX/policy-dev-tdx.json" \
    --claims "$FX/input-tdx-dev.json" --action resource:read --resource default/dev/secret
has "ALLOW resource:read default/dev/secret" out
has "rule      dev-secret" out
has "must      release JWE-wrapped" out
expect_rc 1 "$C" policy eval --policy "$EX/policy-dev-tdx.json" \
    --claims "$FX/input-tdx-dev-debug.json" --action resource:read --resource default/dev/secret
has "DENY resource:read default/dev/secret" out
has "reason    not_admitted" out
has "a debug instance (allow_debug is false)" out
expect_rc 1 "$C" policy eval --policy "$EX/policy-dev-tdx.json" \
    --claims "$FX/input-tdx-dev.json" --action state:write --resource default/dev/secret
has "reason    no_rule" out

# eval: explicit deny, and the JSON trace
expect_rc 1 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource default/admin/key
has "reason    denied_by_rule" out
has "rule      no-admin-keys" out
expect_rc 1 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource default/admin/key --json
python3 - "$T/out" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
d = t["decision"]
assert d["allow"] is False and d["reason"] == "denied_by_rule" and d["rule"] == "no-admin-keys", d
assert [r["id"] for r in t["rules"]][0] == "no-admin-keys", t["rules"]
assert len(t["rules"]) == 4 and len(t["identities"]) == 1
m = t["identities"][0]["match"]
assert m["op"] == "allOf" and m["result"] == "true" and len(m["conditions"]) == 5, m
EOF

# eval: external reference values fill a set the policy declares empty
sed 's/"rtmr2": "d833[0-9a-f]*"/"rtmr2": "'"$(printf 'c%.0s' $(seq 96))"'"/' \
    "$FX/input-tdx-prod.json" >"$T/rtmr2.json"
expect_rc 1 "$C" policy eval --policy "$P" --claims "$T/rtmr2.json" \
    --action resource:read --resource default/agent/key
has "identities[0].match.allOf[2]: none of 2 alternatives holds" out
printf '{"agent-rtmr2": ["%s"]}' "$(printf 'c%.0s' $(seq 96))" >"$T/refvals.json"
expect_rc 0 "$C" policy eval --policy "$P" --claims "$T/rtmr2.json" \
    --action resource:read --resource default/agent/key --refvals "$T/refvals.json"
printf '{"agent-rtmr2": ["ABCDEF"]}' >"$T/refvals-upper.json"
expect_rc 2 "$C" policy eval --policy "$P" --claims "$T/rtmr2.json" \
    --action resource:read --resource default/agent/key --refvals "$T/refvals-upper.json"
has "upper-case hex" err

# eval: a verdict is converted; freshness and development come from the flags
expect_rc 1 "$C" policy eval --policy "$P" --claims "$FX/verdict-tdx.json" \
    --action resource:read --resource default/agent/key
has "the evidence did not bind the broker's nonce" out
expect_rc 0 "$C" policy eval --policy "$P" --claims "$FX/verdict-tdx.json" \
    --action resource:read --resource default/agent/key --fresh
expect_rc 1 "$C" policy eval --policy "$P" --claims "$FX/verdict-tdx.json" \
    --action resource:read --resource default/agent/key --fresh --development
has "verified against a development trust root" out
expect_rc 0 "$C" policy eval --policy "$P" --claims - \
    --action resource:read --resource default/agent/key --fresh <"$FX/verdict-tdx.json"
expect_rc 1 "$C" policy eval --policy "$P" \
    --claims "$FX/verdict-rejected.json" --action resource:read --resource default/agent/key --fresh
has "the verdict is not verified" out
expect_rc 2 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource default/agent/key --fresh

# eval: usage and I/O errors
expect_rc 2 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:delete --resource default/agent/key
expect_rc 2 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource default/../agent/key
has "invalid resource name" err
expect_rc 2 "$C" policy eval --policy "$T/bad.json" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource default/agent/key
expect_rc 2 "$C" policy eval --policy "$P" --claims "$T/junk.json" \
    --action resource:read --resource default/agent/key
expect_rc 2 "$C" policy eval --policy "$P" --claims "$T/nope.json" \
    --action resource:read --resource default/agent/key
expect_rc 2 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read
expect_rc 2 "$C" policy eval --policy "$P" --claims "$FX/input-tdx-prod.json" \
    --action resource:read --resource x extra
expect_rc 0 "$C" policy eval --help

# with the shared evidence: a real TDX quote, verified, then decided
T01="$SHARED/testdata/evidence/T01"
if [ -n "$SHARED" ] && [ -f "$T01/quote.bin" ]; then
    "$C" verify --evidence "$T01/quote.bin" --collateral "$T01" --at 2025-07-19T10:00:34Z --json \
        >"$T/t01.json"
    expect_rc 0 "$C" policy eval --policy "$P" --claims "$T/t01.json" \
        --action resource:read --resource default/agent/key --fresh
    expect_rc 1 "$C" policy eval --policy "$EX/policy-dev-tdx.json" --claims "$T/t01.json" \
        --action resource:read --resource default/dev/secret
    has "the evidence did not bind the broker's nonce" out
    expect_rc 0 "$C" policy eval --policy "$EX/policy-dev-tdx.json" --claims "$T/t01.json" \
        --action resource:read --resource default/dev/secret --fresh
fi
echo "policy_cli: ok"
