#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of custosd over real HTTP on loopback.

Starts `custosd --dev`, drives it like a Confidential Containers guest would (KBS v0.4.0:
auth -> attest -> resource) with quotes from the development attester (`custos sim
kbs-attest`), and checks every answer with an independent JOSE implementation
(python3-jwcrypto): the JWE decrypts with the TEE private key, the token verifies against
the published JWKS. Then it checks the audit log: the checkpoint signature, the Merkle root
over every entry, and that the records are exactly the decisions this test caused.

usage: kbs_flow.py CUSTOSD CUSTOS EXAMPLES_DIR
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

try:
    from jwcrypto import jwe, jwk, jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as e:
    print(f"SKIP: python3-jwcrypto / python3-cryptography missing ({e})")
    sys.exit(77)

CUSTOSD, CUSTOS, EXAMPLES = sys.argv[1], sys.argv[2], sys.argv[3]
FAILS = []
EXPECT = {"auth": 0, "attest_admitted": 0, "attest_other": 0, "release": 0, "deny": 0,
          "admin": 0, "state": 0}


def check(cond, what):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        FAILS.append(what)


class Broker:
    def __init__(self, tmp, name, extra_config="", tls=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        ready = os.path.join(self.dir, "ready")
        args = [CUSTOSD, "--dev", "--listen", "127.0.0.1:0", "--data-dir", self.data,
                "--ready-file", ready]
        if extra_config or tls:
            cfg = os.path.join(self.dir, "custosd.conf")
            with open(cfg, "w") as f:
                f.write(extra_config)
                if tls:
                    f.write(f"tls_cert {tls[0]}\ntls_key {tls[1]}\n")
            args += ["--config", cfg]
        self.log = open(os.path.join(self.dir, "custosd.log"), "w")
        self.proc = subprocess.Popen(args, stderr=self.log)
        for _ in range(200):
            if os.path.exists(ready):
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"custosd exited: see {self.log.name}")
            time.sleep(0.05)
        self.url = open(ready).read().strip()
        self.tls = tls
        self.host, port = self.url.split("://")[1].rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()

    def conn(self):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            return http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=30)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def req(self, method, path, body=None, headers=None):
        c = self.conn()
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        out = (r.status, data, {k.lower(): v for k, v in r.getheaders()})
        c.close()
        return out

    def raw_status(self, data):
        """Sends raw bytes (as much as the server takes) and returns the status it answers."""
        import socket
        s = socket.create_connection((self.host, self.port), timeout=30)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        try:
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except ConnectionResetError:
            pass
        s.close()
        try:
            return int(buf.split(b" ")[1])
        except (IndexError, ValueError):
            return 0

    def admin(self, method, path, body=None, token=None, ctype=None):
        h = {"Authorization": "Bearer " + (token if token is not None else self.token)}
        if ctype:
            h["Content-Type"] = ctype
        return self.req(method, "/custos/v1/admin/" + path, body, h)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.log.close()


def cookie_of(headers):
    sc = headers.get("set-cookie", "")
    return sc.split(";")[0], sc


def auth(b, tee="tdx"):
    st, body, h = b.req("POST", "/kbs/v0/auth",
                        {"version": "0.4.0", "tee": tee, "extra-params": {}})
    EXPECT["auth"] += st == 200
    return st, (json.loads(body) if st == 200 else body), h


def sim_body(b, nonce, pub_jwk, *extra):
    kf = os.path.join(b.dir, "tee.jwk")
    with open(kf, "w") as f:
        f.write(pub_jwk)
    out = subprocess.run([CUSTOS, "sim", "kbs-attest", "--data-dir", b.data, "--nonce", nonce,
                          "--tee-pubkey", kf, *extra], check=True, capture_output=True)
    return json.loads(out.stdout)


def attest(b, cookie, body):
    return b.req("POST", "/kbs/v0/attest", body, {"Cookie": cookie})


def new_key(kind):
    if kind == "EC-P256":
        k = jwk.JWK.generate(kty="EC", crv="P-256")
        alg = "ECDH-ES+A256KW"
    elif kind == "EC-P521":
        k = jwk.JWK.generate(kty="EC", crv="P-521")
        alg = "ECDH-ES+A256KW"
    else:
        k = jwk.JWK.generate(kty="RSA", size=3072)
        alg = "RSA-OAEP-256"
    pub = json.loads(k.export_public())
    pub["alg"] = alg
    return k, json.dumps(pub)


def full_attest(b, kind="EC-P256", *extra):
    """auth + attest; returns (status, cookie, key, token-or-body)."""
    key, pub = new_key(kind)  # before auth: RSA key generation may outlast a short session
    st, ch, h = auth(b)
    assert st == 200, (st, ch)
    cookie, _ = cookie_of(h)
    body = sim_body(b, ch["nonce"], pub, *extra)
    st, resp, h = attest(b, cookie, body)
    if st == 200:
        EXPECT["attest_admitted"] += 1
    else:
        EXPECT["attest_other"] += 1
    return st, cookie, key, resp, h


def main():
    tmp = tempfile.mkdtemp(prefix="custos-it-")
    try:
        run(tmp)
    except Exception:
        FAILS.append("exception")
        raise
    finally:
        if not FAILS:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"artifacts kept in {tmp}")
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


def run(tmp):
    b = Broker(tmp, "dev", "session_ttl 3\nauth_rate 1000\nauth_burst 1000\n")

    st, body, _ = b.req("GET", "/healthz")
    hz = json.loads(body)
    check(st == 200 and hz["development_root"] is True and hz["transport"] == "http",
          "healthz reports the development root and plain HTTP")
    check(hz["policy_loaded"] is False, "a new dev broker has no policy")

    # ---- admin authentication
    st, _, _ = b.req("GET", "/custos/v1/admin/resources")
    check(st == 401, "admin without a credential: 401")
    st, _, _ = b.admin("GET", "resources", token="0" * 64)
    check(st == 401, "admin with a wrong credential: 401")

    # ---- no policy: nothing is admitted
    st, _, _, resp, _ = full_attest(b)
    check(st == 403 and json.loads(resp)["type"].endswith("PolicyDeny"),
          "no policy: attestation is denied (403 PolicyDeny)")

    # ---- the starter policy and a secret
    with open(os.path.join(EXAMPLES, "policy-dev-tdx.json"), "rb") as f:
        st, body, _ = b.admin("PUT", "policy", f.read(), ctype="application/json")
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: policy set")
    st, body, _ = b.admin("PUT", "policy", b'{"version":1,"id":"x","identities":[{"nm":1}]}',
                          ctype="application/json")
    check(st == 400 and b"identities[0]" in body, "admin: a bad policy is refused with its path")
    secret = os.urandom(24).hex().encode()
    st, _, _ = b.admin("PUT", "resource/default/dev/secret", secret,
                       ctype="application/octet-stream")
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: resource set")

    # ---- happy path, three TEE key kinds
    st, jwks_body, _ = b.req("GET", "/custos/v1/token/jwks")
    keyset = jwk.JWKSet.from_json(jwks_body)
    for kind in ("EC-P256", "EC-P521", "RSA-3072"):
        st, cookie, key, resp, h = full_attest(b, kind)
        check(st == 200, f"{kind}: attest admitted")
        if st != 200:
            print(resp)
            continue
        tok = json.loads(resp)["token"]
        t = jwt.JWT(jwt=tok, key=keyset, algs=["ES256"])
        claims = json.loads(t.claims)
        check(claims["cnf"]["jwk"]["x" if kind.startswith("EC") else "n"]
              == json.loads(key.export_public())["x" if kind.startswith("EC") else "n"],
              f"{kind}: token (verified by jwcrypto) binds the TEE key")
        check(claims["custos"]["development"] is True and claims["submods"]["tdx"]
              ["ear.status"] in ("affirming", "warning"), f"{kind}: token EAR claims")
        check(claims["exp"] - claims["iat"] <= 3600, f"{kind}: token is short-lived")
        st, body, h2 = b.req("GET", "/kbs/v0/resource/default/dev/secret", None,
                             {"Cookie": cookie})
        EXPECT["release"] += st == 200
        check(st == 200 and "x-custos-log-index" in h2, f"{kind}: resource released")
        if st == 200:
            e = jwe.JWE()
            e.deserialize(body.decode(), key=key)
            check(e.payload == secret, f"{kind}: JWE decrypts (jwcrypto) to the secret")
            prot = json.loads(base64.urlsafe_b64decode(json.loads(body)["protected"] + "=="))
            check(prot["enc"] == "A256GCM", f"{kind}: A256GCM content encryption")
        # passport mode: the token alone
        st, body, _ = b.req("GET", "/kbs/v0/resource/default/dev/secret", None,
                            {"Authorization": "Bearer " + tok})
        EXPECT["release"] += st == 200
        check(st == 200, f"{kind}: passport mode (Authorization: Bearer) releases")

    # ---- replay and cross-session nonces
    st, ch, h = auth(b)
    cookie, raw_cookie = cookie_of(h)
    check("HttpOnly" in raw_cookie and "SameSite=Strict" in raw_cookie,
          "session cookie is HttpOnly and SameSite=Strict")
    key, pub = new_key("EC-P256")
    body = sim_body(b, ch["nonce"], pub)
    st, _, _ = attest(b, cookie, body)
    EXPECT["attest_admitted"] += st == 200
    check(st == 200, "attest with the session's nonce")
    st, _, _ = attest(b, cookie, body)
    EXPECT["attest_other"] += 1
    check(st == 401, "the same attestation replayed in its session: 401")
    st, ch2, h2 = auth(b)
    st, _, _ = attest(b, cookie_of(h2)[0], body)
    EXPECT["attest_other"] += 1
    check(st == 401, "a nonce from another session: 401")

    # ---- REPORT_DATA mismatch: evidence bound to another key
    st, ch, h = auth(b)
    _, pub_a = new_key("EC-P256")
    _, pub_b = new_key("EC-P256")
    body = sim_body(b, ch["nonce"], pub_a)
    body["runtime-data"]["tee-pubkey"] = json.loads(pub_b)
    st, resp, _ = attest(b, cookie_of(h)[0], body)
    EXPECT["attest_other"] += 1
    check(st == 401 and json.loads(resp)["type"].endswith("AttestationFailed"),
          "REPORT_DATA bound to another TEE key: 401")

    # ---- a session opened for SGX cannot be attested with TDX evidence
    key, pub = new_key("EC-P256")
    st, ch, h = auth(b, tee="sgx")
    st, resp, _ = attest(b, cookie_of(h)[0], sim_body(b, ch["nonce"], pub))
    EXPECT["attest_other"] += 1
    check(st == 401, "TDX evidence in a session opened for SGX: 401")

    # ---- debug TD, out-of-date TCB
    st, _, _, resp_debug, _ = full_attest(b, "EC-P256", "--debug")
    check(st == 403, "debug TD under the dev policy: 403")
    st, _, _, resp_ood, _ = full_attest(b, "EC-P256", "--out-of-date")
    check(st == 403, "TCB OutOfDate under the dev policy: 403")

    # ---- unknown resources: 404 only for a caller the policy would allow
    st, cookie, key, _, _ = full_attest(b)
    st, body, _ = b.req("GET", "/kbs/v0/resource/default/dev/missing", None, {"Cookie": cookie})
    EXPECT["deny"] += 1
    check(st == 403, "a resource the policy does not allow: 403 even if it does not exist")
    with open(os.path.join(EXAMPLES, "policy-dev-tdx.json")) as f:
        pol = json.load(f)
    for rule in pol["rules"]:
        if rule.get("effect") == "allow":
            rule["resources"] = ["default/dev/*"]
    st, _, _ = b.admin("PUT", "policy", json.dumps(pol).encode(), ctype="application/json")
    EXPECT["admin"] += st == 200
    st, body404, _ = b.req("GET", "/kbs/v0/resource/default/dev/missing", None,
                           {"Cookie": cookie})
    EXPECT["deny"] += 1
    check(st == 404, "an allowed but unknown resource: 404")
    st, body403, _ = b.req("GET", "/kbs/v0/resource/other/repo/x", None, {"Cookie": cookie})
    EXPECT["deny"] += 1
    check(st == 403, "a resource outside the policy: 403")
    d403 = json.loads(body403)
    check(set(d403) == {"type", "detail"} and d403["detail"] == "denied by policy"
          and b"rule" not in body403 and b"claims" not in body403,
          "a denial body names no rule, condition or claim")
    check(json.loads(resp_debug) == json.loads(resp_ood),
          "debug and out-of-date denials are indistinguishable")

    # ---- reference values: mr_td must be in a set
    mrtd_ok = "ab" * 48
    pol_ref = {
        "version": 1, "id": "refval-test",
        "reference_values": {"agent-mrtd": []},
        "identities": [{"name": "agent", "platforms": ["tdx"],
                        "protects": ["integrity", "freshness"], "allow_development": True,
                        "match": {"claim": "claims.mr_td", "in_set": "agent-mrtd"}}],
        "rules": [{"id": "read", "effect": "allow", "identities": ["agent"],
                   "actions": ["resource:read"], "resources": ["default/dev/secret"]}],
    }
    st, body, _ = b.admin("PUT", "policy", json.dumps(pol_ref).encode(),
                          ctype="application/json")
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: a policy with a reference-value set")
    st, _, _, _, _ = full_attest(b, "EC-P256", "--mr-td", "cd" * 48)
    check(st == 403, "measurement not in the reference values: 403")
    st, _, _ = b.admin("POST", "refvals", {"set": "agent-mrtd", "values": [mrtd_ok]})
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: refvals add")
    st, cookie, key, _, _ = full_attest(b, "EC-P256", "--mr-td", mrtd_ok)
    check(st == 200, "measurement in the reference values: admitted")

    # ---- init-data: bound into MRCONFIGID (SHA-384 of the body), then matched by policy
    initdata = os.path.join(b.dir, "init.toml")
    body_bytes = b'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"agent.toml" = "x"\n'
    with open(initdata, "wb") as f:
        f.write(body_bytes)
    digest = hashlib.sha384(body_bytes).hexdigest()
    pol_init = {
        "version": 1, "id": "init-data-test",
        "identities": [{"name": "agent", "platforms": ["tdx"], "protects": ["integrity"],
                        "allow_development": True,
                        "match": {"claim": "init_data.digest", "equals": digest}}],
        "rules": [{"id": "read", "effect": "allow", "identities": ["agent"],
                   "actions": ["resource:read"], "resources": ["default/dev/secret"]}],
    }
    st, body, _ = b.admin("PUT", "policy", json.dumps(pol_init).encode(),
                          ctype="application/json")
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: a policy on the init-data digest " + body.decode()[:200])
    st, _, _, _, _ = full_attest(b, "EC-P256", "--init-data", initdata, "--mr-config-id", digest)
    check(st == 200, "init-data bound in MRCONFIGID and named by policy: admitted")
    st, _, _, resp, _ = full_attest(b, "EC-P256", "--init-data", initdata)
    check(st == 401, "init-data the TD did not measure (MRCONFIGID differs): 401")
    st, _, _, _, _ = full_attest(b, "EC-P256", "--mr-config-id", digest)
    check(st == 403, "no init-data sent: the policy's init_data claim is missing, 403")

    # ---- attested state write-back (docs/state.md) and tokens for third parties
    state_checks(b)

    # ---- expired session
    st, ch, h = auth(b)
    time.sleep(3.5)
    key, pub = new_key("EC-P256")
    st, _, _ = attest(b, cookie_of(h)[0], sim_body(b, ch["nonce"], pub))
    check(st == 401, "an expired session: 401")
    st, _, _ = b.req("GET", "/kbs/v0/resource/default/dev/secret", None,
                     {"Cookie": "kbs-session-id=" + "A" * 43})
    check(st == 401, "an unknown session: 401")

    # ---- malformed and oversized requests
    st, _, _ = b.req("POST", "/kbs/v0/auth", b"{not json", {"Content-Type": "application/json"})
    check(st == 400, "malformed auth body: 400")
    st, _, _ = b.req("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": "tdx",
                                             "extra-params": {}})
    check(st == 400, "an old protocol version: 400")
    st = b.raw_status(b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 8192\r\n\r\n{")
    check(st == 413, "a declared 8 KiB auth body: 413 before it is read")
    st = b.raw_status(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
    check(st == 413, "a body on a route that takes none: 413")
    st, ch, h = auth(b)
    st = b.raw_status(b"POST /kbs/v0/attest HTTP/1.1\r\nHost: x\r\nCookie: "
                      + cookie_of(h)[0].encode()
                      + b"\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(2 << 20).encode() + b"\r\n\r\n{")
    check(st == 413, "a declared 2 MiB attestation body: 413 before it is read")
    st = b.raw_status(b"POST /kbs/v0/attest HTTP/1.1\r\nHost: x\r\nCookie: "
                      + cookie_of(h)[0].encode()
                      + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"".join(b"10000\r\n" + b" " * 0x10000 + b"\r\n" for _ in range(20))
                      + b"0\r\n\r\n")
    check(st == 413, f"a chunked body growing past 1 MiB: 413 (got {st})")
    st, _, _ = b.req("GET", "/kbs/v0/resource/" + "a" * 2000)
    check(st == 414, "a 2000-byte request target: 414")
    st, ch, h = auth(b)
    st, _, _ = attest(b, cookie_of(h)[0], {"runtime-data": {"nonce": ch["nonce"]}})
    EXPECT["attest_other"] += 1
    check(st == 400, "an attestation without tee-pubkey or evidence: 400")

    # ---- metrics
    st, body, _ = b.req("GET", "/metrics")
    check(st == 200 and b"custos_releases_total" in body and b"custos_verdicts_total" in body,
          "metrics in Prometheus text format")

    # ---- the audit log
    audit_check(b)
    b.stop()

    # ---- HTTPS, Secure cookie, and the /auth rate limit
    crt = os.path.join(tmp, "tls.crt")
    kf = os.path.join(tmp, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", kf, "-out", crt, "-days",
                    "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    t = Broker(tmp, "tls", "auth_rate 1\nauth_burst 3\n", tls=(crt, kf))
    check(t.url.startswith("https://"), "TLS configured: https")
    st, body, h = t.req("POST", "/kbs/v0/auth", {"version": "0.4.0", "tee": "tdx",
                                                "extra-params": {}})
    check(st == 200 and "Secure" in h.get("set-cookie", ""), "over TLS the cookie is Secure")
    codes = [t.req("POST", "/kbs/v0/auth", {"version": "0.4.0", "tee": "tdx",
                                           "extra-params": {}})[0] for _ in range(4)]
    check(429 in codes, "the /auth rate limit answers 429")
    t.stop()


def pop_headers(key, method, path, body, nonce, counter):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    msg = "custos-pop-v1\n%s\n%s\n%s\n%s\n%d\n" % (
        method, path, hashlib.sha256(body).hexdigest(), nonce, counter)
    der = key.get_op_key("sign").sign(msg.encode(), ec.ECDSA(hashes.SHA256()))
    r, s_ = decode_dss_signature(der)
    sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    return {"Custos-PoP-Counter": str(counter),
            "Custos-PoP": base64.urlsafe_b64encode(sig).rstrip(b"=").decode()}


def verify_inclusion(index, size, leaf, proof, root):
    # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def state_checks(b):
    pol = {
        "version": 1, "id": "state-test",
        "identities": [{"name": "agent", "platforms": ["tdx"], "protects": ["freshness"],
                        "allow_development": True,
                        "match": {"claim": "platform", "equals": "tdx"}}],
        "rules": [{"id": "rw", "effect": "allow", "identities": ["agent"],
                   "actions": ["state:read", "state:write"], "resources": ["agent-state"]},
                  {"id": "tok", "effect": "allow", "identities": ["agent"],
                   "actions": ["token:issue"], "resources": ["payments-api"]}],
    }
    st, body, _ = b.admin("PUT", "policy", json.dumps(pol).encode(), ctype="application/json")
    EXPECT["admin"] += st == 200
    check(st == 200, "admin: a policy with state and token rules " + body.decode()[:200])
    key, pub = new_key("EC-P256")
    st, ch, h = auth(b)
    cookie = cookie_of(h)[0]
    st, _, _ = attest(b, cookie, sim_body(b, ch["nonce"], pub))
    EXPECT["attest_admitted"] += st == 200
    nonce = ch["nonce"]
    path = "/custos/v1/state/agent-state"

    def put(blob, if_match, counter, k=key, extra=None):
        hd = {"Cookie": cookie, "Content-Type": "application/octet-stream"}
        if if_match is not None:
            hd["If-Match"] = str(if_match)
        hd.update(pop_headers(k, "PUT", path, blob, nonce, counter))
        hd.update(extra or {})
        return b.req("PUT", path, blob, hd)

    v1 = os.urandom(64)
    st, body, _ = put(v1, 0, 1)
    EXPECT["state"] = EXPECT.get("state", 0) + (st == 200)
    check(st == 200 and json.loads(body)["version"] == 1, "state put: version 1")
    st, _, h2 = put(os.urandom(64), 0, 2)
    check(st == 412 and h2.get("x-custos-version") == "1", "state put with a stale If-Match: 412")
    v2 = os.urandom(80)
    st, body, _ = put(v2, 1, 3)
    EXPECT["state"] += st == 200
    check(st == 200 and json.loads(body)["version"] == 2, "state put: version 2")
    st, _, _ = put(os.urandom(8), 2, 3)
    check(st == 401, "a replayed proof-of-possession counter: 401")
    other, _ = new_key("EC-P256")
    st, _, _ = put(os.urandom(8), 2, 10, k=other)
    check(st == 401, "proof of possession by another key than the attested one: 401")
    st, _, _ = put(os.urandom(8), None, 11)
    check(st == 428, "state put without If-Match: 428")
    st, body, _ = b.req("GET", path, None, {"Cookie": cookie})
    g = json.loads(body) if st == 200 else {}
    check(st == 200 and base64.b64decode(g.get("ciphertext", "")) == v2 and g["version"] == 2,
          "state get: the latest ciphertext and version")
    if st == 200:
        rec = json.loads(g["record"])
        check(rec["type"] == "state" and rec["version"] == 2 and rec["ciphertext_sha256"]
              == hashlib.sha256(v2).hexdigest(), "state get: the record names object, version, digest")
        text = g["checkpoint"].split("\n\n", 1)[0]
        size = int(text.split("\n")[1])
        root = base64.b64decode(text.split("\n")[2])
        ok = verify_inclusion(g["proof"]["index"], size, leaf_hash(g["record"].encode()),
                              [bytes.fromhex(x) for x in g["proof"]["hashes"]], root)
        check(ok and g["proof"]["size"] == size, "state get: the record's inclusion proof verifies")
    st, _, _ = b.req("GET", "/custos/v1/state/other-object", None, {"Cookie": cookie})
    EXPECT["deny"] += 1
    check(st == 403, "state of an object the policy does not name: 403")
    tb = json.dumps({"audience": "payments-api"}).encode()
    hd = {"Cookie": cookie, "Content-Type": "application/json"}
    hd.update(pop_headers(key, "POST", "/custos/v1/token", tb, nonce, 20))
    st, body, _ = b.req("POST", "/custos/v1/token", tb, hd)
    check(st == 200, "token for a third party (with proof of possession)")
    if st == 200:
        _, jwks_body, _ = b.req("GET", "/custos/v1/token/jwks")
        t = jwt.JWT(jwt=json.loads(body)["token"], key=jwk.JWKSet.from_json(jwks_body),
                    algs=["ES256"])
        cl = json.loads(t.claims)
        check(cl["aud"] == "payments-api" and cl["sub"] == "agent" and "cnf" in cl,
              "the third-party token: audience, identity, key binding")


def leaf_hash(e):
    return hashlib.sha256(b"\x00" + e).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    if len(leaves) == 0:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_check(b):
    st, note, _ = b.req("GET", "/custos/v1/log/checkpoint")
    check(st == 200, "log: checkpoint served")
    text, sigs = note.decode().split("\n\n", 1)
    origin, size, root_b64 = text.split("\n")[:3]
    size = int(size)
    entries = []
    for i in range(size):
        st, e, _ = b.req("GET", f"/custos/v1/log/entry/{i}")
        entries.append(e)
    root = mth([leaf_hash(e) for e in entries])
    check(base64.b64decode(root_b64) == root, f"log: the root of {size} entries matches")
    # C2SP tlog-tiles served by the broker agree with the entries
    full, part = divmod(size, 256)
    bundle = b""
    for n in range(full + (1 if part else 0)):
        name = "%03d" % n if n < 1000 else None
        w = 256 if n < full else part
        st, data, _ = b.req("GET", f"/custos/v1/log/tile/entries/{name}"
                            + ("" if w == 256 else f".p/{w}"))
        bundle += data if st == 200 else b""
    want = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
    check(bundle == want, "tiles: the entry bundles hold every entry")
    st, t0, _ = b.req("GET", "/custos/v1/log/tile/0/000" + ("" if size >= 256 else f".p/{size}"))
    want0 = b"".join(leaf_hash(e) for e in entries[:256])
    check(st == 200 and t0 == want0, "tiles: level-0 tile holds the leaf hashes")
    st, _, _ = b.req("GET", f"/custos/v1/log/tile/entries/000.p/{min(size + 1, 255)}")
    check(st == 404, "tiles: a tile beyond the tree is 404")
    # signature: the key event names the verifier key
    recs = [json.loads(e) for e in entries]
    key = [r for r in recs if r["type"] == "key"][0]["log_vkey"]
    name, _, key_b64 = key.split("+", 2)
    raw = base64.b64decode(key_b64)
    pub = Ed25519PublicKey.from_public_bytes(raw[1:])
    sig_line = [l for l in sigs.split("\n") if l.startswith("\u2014 " + name + " ")][0]
    sig = base64.b64decode(sig_line.split(" ")[2])
    try:
        pub.verify(sig[4:], (text + "\n").encode())
        check(True, "log: checkpoint signature verifies (Ed25519, independent)")
    except Exception:
        check(False, "log: checkpoint signature verifies (Ed25519, independent)")
    for r, e in zip(recs, entries):
        canon = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if canon.encode() != e:
            check(False, f"log: entry is canonical JSON: {e[:80]}")
            break
    by = {}
    for r in recs:
        k = r["type"]
        if k == "attest":
            k = "attest_admitted" if r["outcome"] == "admitted" else "attest_other"
        by[k] = by.get(k, 0) + 1
    for k in ("auth", "attest_admitted", "release", "admin", "state"):
        check(by.get(k, 0) == EXPECT[k], f"log: {EXPECT[k]} {k} records (found {by.get(k, 0)})")
    check(by.get("deny", 0) == EXPECT["deny"], f"log: {EXPECT['deny']} deny records")
    check(all(r.get("development") is True for r in recs),
          "log: every record says development=true")
    releases = [r for r in recs if r["type"] == "release"]
    admitted = {i for i, r in enumerate(recs) if r["type"] == "attest"
                and r["outcome"] == "admitted"}
    check(all(r["attest_index"] in admitted for r in releases),
          "log: every release points at an admitted attestation record")
    # the CLI auditor agrees
    state = os.path.join(b.dir, "audit.state")
    vkey = key
    out = subprocess.run([CUSTOS, "audit", "verify", "--url", b.url, "--vkey", vkey,
                          "--state", state], capture_output=True)
    check(out.returncode == 0, "custos audit verify: exit 0 " + out.stderr.decode()[-300:])
    # a consistent second run from the saved state, after more entries
    auth(b)
    out = subprocess.run([CUSTOS, "audit", "verify", "--url", b.url, "--vkey", vkey,
                          "--state", state], capture_output=True)
    check(out.returncode == 0 and b"consistent with the saved state (%d)" % size in out.stdout,
          "custos audit verify: consistent with the saved state")
    # a forged state (another root) must be caught as a rewritten history
    with open(state, "w") as f:
        f.write(json.dumps({"size": size, "root": "00" * 32}))
    out = subprocess.run([CUSTOS, "audit", "verify", "--url", b.url, "--vkey", vkey,
                          "--state", state], capture_output=True)
    check(out.returncode == 1, "custos audit verify: a different saved root is refused")
    # re-verification of archived evidence at the recorded instant
    tok = os.path.join(b.data, "admin.token")
    for want_ok, idx in ((True, sorted(admitted)[0]),
                         (True, [i for i, r in enumerate(recs) if r["type"] == "attest"
                                 and r.get("reason") == "not_admitted"][0])):
        out = subprocess.run([CUSTOS, "audit", "reverify", "--url", b.url, "--token-file", tok,
                              "--index", str(idx)], capture_output=True)
        check(out.returncode == 0 and out.stdout.startswith(b"ok:"),
              f"custos audit reverify {idx}: same outcome as recorded "
              + (out.stdout + out.stderr).decode()[-200:])


if __name__ == "__main__":
    main()
