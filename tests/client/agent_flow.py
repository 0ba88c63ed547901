#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of the agent client (`custos agent`, include/custos/client.h).

Starts `custosd --dev` on loopback and drives it with `custos agent` (attester "sim"):
attest + resource; state put three times (versions 1, 2, 3) and get; a stale If-Match (412);
a token for an audience, verified with python3-jwcrypto against the published JWKS. Then,
with requests crafted here (jwcrypto / cryptography): a replayed PoP counter and a PoP by
another key are refused (401) while a good one passes. Finally the broker is rolled back:
only broker.db (the state store serves an old version: the client refuses it as below the
highest it saw), then broker.db and log.db together (the log shrank, and once it has grown
past its old size, its history is no longer an extension of the checkpoint the client
saved). Every refusal must come with exit status 1 and a clear message.

The library itself is driven by tests/client/agent_lib.c (LIB_DRIVER): four threads on one
handle, compare-and-swap on a shared object, and re-attestation after the session expired.

usage: agent_flow.py CUSTOSD CUSTOS EXAMPLES_DIR LIB_DRIVER
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
    from jwcrypto import jwk, jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError as e:
    print(f"SKIP: python3-jwcrypto / python3-cryptography missing ({e})")
    sys.exit(77)

CUSTOSD, CUSTOS, EXAMPLES, LIB_DRIVER = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
TTL = 10  # token_ttl of the test broker: the smallest custosd accepts
FAILS = []
RUNNING = []  # brokers to stop whatever happens


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


class Broker:
    def __init__(self, root, tls=None, extra=""):
        self.extra = extra
        self.root = root
        os.makedirs(root)
        self.tls = tls
        self.data = os.path.join(root, "data")
        self.n = 0
        self.proc = None
        self.start()

    def start(self):
        self.n += 1
        ready = os.path.join(self.root, f"ready{self.n}")
        self.log = open(os.path.join(self.root, f"custosd{self.n}.log"), "w")
        args = [CUSTOSD, "--listen", "127.0.0.1:0", "--data-dir", self.data,
                "--ready-file", ready]
        if self.n == 1:
            args.append("--dev")
            if self.tls or self.extra:
                cfg = os.path.join(self.root, "dev.conf")
                with open(cfg, "w") as f:
                    f.write(self.extra)
                    if self.tls:
                        f.write(f"tls_cert {self.tls[0]}\ntls_key {self.tls[1]}\n")
                args += ["--config", cfg]
        else:  # a restart: --dev would create keys again, so the same setup by configuration
            tok = open(os.path.join(self.data, "admin.token")).read().strip().encode()
            cfg = os.path.join(self.root, "restart.conf")
            with open(cfg, "w") as f:
                f.write(f"data_dir {self.data}\n"
                        f"admin_token dev-admin admin {hashlib.sha256(tok).hexdigest()}\n"
                        f"dcap_collateral_dir {self.data}/dev-attester/collateral\n"
                        "dcap_development_root yes\n")
            args += ["--config", cfg]
        self.proc = subprocess.Popen(args, stderr=self.log)
        RUNNING.append(self.proc)
        for _ in range(400):
            if os.path.exists(ready):
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"custosd exited: see {self.log.name}")
            time.sleep(0.05)
        self.url = open(ready).read().strip()
        self.host, port = self.url.split("://")[1].rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()

    def req(self, method, path, body=None, headers=None):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            c = http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=30)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=30)
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

    def admin(self, method, path, body, ctype=None):
        h = {"Authorization": "Bearer " + self.token}
        if ctype:
            h["Content-Type"] = ctype
        return self.req(method, "/custos/v1/admin/" + path, body, h)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Agent:
    """`custos agent` with the common options of one agent (one state file)."""

    def __init__(self, b, state_file):
        self.b = b
        self.state_file = state_file
        self.vkey = None

    def run(self, *args, json_out=True, trust=()):
        cmd = [CUSTOS, "agent", "--url", self.b.url, "--attester", "sim", "--data-dir",
               self.b.data, "--vkey", self.vkey, "--state-file", self.state_file, *trust]
        if json_out:
            cmd.append("--json")
        p = subprocess.run(cmd + list(args), capture_output=True, timeout=120)
        if b"Sanitizer" in p.stderr or b"runtime error" in p.stderr:
            check(False, "sanitizer report from custos agent " + " ".join(args) + ":\n"
                  + p.stderr.decode(errors="replace")[:2000])
        doc = None
        if json_out:
            try:
                doc = json.loads(p.stdout.decode().strip().splitlines()[-1])
            except (ValueError, IndexError):
                doc = None
        return p.returncode, doc, p.stderr.decode()


def log_vkey(b):
    i = 0
    while True:
        st, body, _ = b.req("GET", f"/custos/v1/log/entry/{i}")
        if st != 200:
            raise RuntimeError("no key record in the log")
        rec = json.loads(body)
        if rec.get("type") == "key":
            return rec["log_vkey"]
        i += 1


def set_policy(b):
    with open(os.path.join(EXAMPLES, "policy-dev-tdx.json")) as f:
        pol = json.load(f)
    pol["rules"] = [
        {"id": "secrets", "effect": "allow", "identities": ["dev-tdx"],
         "actions": ["resource:read"],
         "resources": ["default/dev/secret", "default/dev-tdx/state-key"]},
        {"id": "state", "effect": "allow", "identities": ["dev-tdx"],
         "actions": ["state:read", "state:write"],
         "resources": ["agent.cfg", "py.obj", "shared"]},
        {"id": "tokens", "effect": "allow", "identities": ["dev-tdx"],
         "actions": ["token:issue"], "resources": ["svc-a"]},
    ]
    st, body, _ = b.admin("PUT", "policy", json.dumps(pol).encode(), "application/json")
    check(st == 200, "admin: the agent policy is set " + body.decode()[:200])


# ---- requests crafted in Python: auth + attest with our own EC key, then PoP writes ----

def py_session(b, tmp):
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    pub = json.loads(key.export_public())
    pub["alg"] = "ECDH-ES+A256KW"
    st, body, h = b.req("POST", "/kbs/v0/auth", {"version": "0.4.0", "tee": "tdx",
                                                 "extra-params": {}})
    assert st == 200, (st, body)
    nonce = json.loads(body)["nonce"]
    cookie = h["set-cookie"].split(";")[0]
    kf = os.path.join(tmp, "py.jwk")
    with open(kf, "w") as f:
        f.write(json.dumps(pub))
    out = subprocess.run([CUSTOS, "sim", "kbs-attest", "--data-dir", b.data, "--nonce", nonce,
                          "--tee-pubkey", kf], check=True, capture_output=True)
    st, body, _ = b.req("POST", "/kbs/v0/attest", json.loads(out.stdout), {"Cookie": cookie})
    assert st == 200, (st, body)
    priv = ec.derive_private_key(
        int.from_bytes(base64.urlsafe_b64decode(json.loads(key.export_private())["d"] + "=="),
                       "big"), ec.SECP256R1())
    return cookie, nonce, priv


def pop_put(b, cookie, nonce, priv, path, body, counter, if_match):
    msg = (f"custos-pop-v1\nPUT\n{path}\n{hashlib.sha256(body).hexdigest()}\n{nonce}\n"
           f"{counter}\n").encode()
    r, s = decode_dss_signature(priv.sign(msg, ec.ECDSA(hashes.SHA256())))
    sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    st, _, _ = b.req("PUT", path, body, {"Cookie": cookie, "If-Match": str(if_match),
                                         "Custos-PoP-Counter": str(counter),
                                         "Custos-PoP": sig,
                                         "Content-Type": "application/octet-stream"})
    return st


def pop_tests(b, tmp):
    cookie, nonce, priv = py_session(b, tmp)
    path = "/custos/v1/state/py.obj"
    check(pop_put(b, cookie, nonce, priv, path, b"\x01one", 1, 0) == 200,
          "PoP: a write signed by the attested key with counter 1 is accepted")
    check(pop_put(b, cookie, nonce, priv, path, b"\x01two", 1, 1) == 401,
          "PoP: the same counter again (a replay) is refused with 401")
    other = ec.generate_private_key(ec.SECP256R1())
    check(pop_put(b, cookie, nonce, other, path, b"\x01two", 5, 1) == 401,
          "PoP: a proof signed by another key is refused with 401")
    check(pop_put(b, cookie, "not-the-nonce", priv, path, b"\x01two", 6, 1) == 401,
          "PoP: a proof over another session nonce is refused with 401")
    check(pop_put(b, cookie, nonce, priv, path, b"\x01two", 7, 1) == 200,
          "PoP: a fresh counter by the attested key is still accepted afterwards")


def copy_dbs(src_dir, dst_dir, names):
    for name in names:
        for suffix in ("", "-wal", "-shm"):
            s = os.path.join(src_dir, name + suffix)
            d = os.path.join(dst_dir, name + suffix)
            if os.path.exists(d):
                os.unlink(d)
            if os.path.exists(s):
                shutil.copy2(s, d)


def run(tmp):
    # the library's compare-and-swap contention makes more requests than the default
    # per-session rate allows (20/s, burst 100), more so under sanitizers
    b = Broker(os.path.join(tmp, "broker"),
               extra=f"token_ttl {TTL}\nresource_rate 1000\nresource_burst 1000\n")
    set_policy(b)
    secret = os.urandom(24).hex().encode()
    st, _, _ = b.admin("PUT", "resource/default/dev/secret", secret, "application/octet-stream")
    check(st == 200, "admin: the secret is set")
    st, _, _ = b.admin("PUT", "resource/default/dev-tdx/state-key", os.urandom(32),
                       "application/octet-stream")
    check(st == 200, "admin: the state key is set")
    a = Agent(b, os.path.join(tmp, "agent.state"))
    a.vkey = log_vkey(b)

    # ---- attest and resources
    rc, doc, err = a.run("attest")
    check(rc == 0 and doc == {"ok": True}, f"agent attest ({err.strip()[:200]})")
    out = os.path.join(tmp, "secret.out")
    rc, doc, _ = a.run("get", "default/dev/secret", "--out", out)
    check(rc == 0 and open(out, "rb").read() == secret, "agent get --out: the secret")
    check(os.stat(out).st_mode & 0o777 == 0o600, "agent get --out: the file is 0600")
    rc, doc, _ = a.run("get", "default/dev/secret")
    check(rc == 0 and base64.b64decode(doc["value"]) == secret and doc["bytes"] == len(secret),
          "agent get --json: the secret, base64")
    rc, _, err = a.run("get", "default/dev/other")
    check(rc == 1 and "403" in err, "agent get of a resource the policy denies: exit 1, 403")

    # ---- state: three versions, then a read verified against the log
    data = os.path.join(tmp, "data.in")
    for v in (1, 2, 3):
        with open(data, "wb") as f:
            f.write(b"config version %d" % v)
        rc, doc, err = a.run("state", "put", "agent.cfg", "--file", data, "--if-match", str(v - 1))
        check(rc == 0 and doc["version"] == v, f"state put with If-Match {v - 1}: version {v} "
              f"({err.strip()[:200]})")
        if v == 1:
            rc, doc, err = a.run("state", "get", "agent.cfg")
            check(rc == 0 and doc["version"] == 1, "state get of version 1 " + err[:200])
            b.stop()  # the backup of a broker at version 1
            backup = os.path.join(tmp, "backup")
            os.makedirs(backup)
            copy_dbs(b.data, backup, ("broker.db", "log.db"))
            b.start()
    rc, doc, err = a.run("state", "get", "agent.cfg")
    check(rc == 0 and doc["version"] == 3 and base64.b64decode(doc["value"]) == b"config version 3",
          f"state get: version 3, verified and decrypted ({err.strip()[:200]})")
    mem = json.load(open(a.state_file))
    check(mem["objects"]["agent.cfg"] == 3 and mem["checkpoint"]["size"] > 0,
          "the state file remembers version 3 and a checkpoint")
    check(os.stat(a.state_file).st_mode & 0o777 == 0o600, "the state file is 0600")
    rc, doc, err = a.run("state", "put", "agent.cfg", "--file", data, "--if-match", "1")
    check(rc == 1 and doc["code"] == "conflict" and "412" in doc["error"],
          "state put with a stale If-Match: exit 1, conflict (412)")
    rc, doc, err = a.run("state", "get", "agent.cfg", "--out", os.path.join(tmp, "v3.out"))
    check(rc == 0 and open(os.path.join(tmp, "v3.out"), "rb").read() == b"config version 3",
          "state get --out: the plaintext")

    # ---- tokens
    rc, doc, err = a.run("token", "svc-a")
    ok = rc == 0
    if ok:
        st, jwks, _ = b.req("GET", "/custos/v1/token/jwks")
        t = jwt.JWT(jwt=doc["token"], key=jwk.JWKSet.from_json(jwks))
        claims = json.loads(t.claims)
        ok = claims["aud"] == "svc-a" and claims["sub"] == "dev-tdx" and "jwk" in claims["cnf"]
    check(ok, f"agent token svc-a: verifies against the JWKS, aud and sub ({err.strip()[:200]})")
    rc, doc, err = a.run("token", "svc-other")
    check(rc == 1 and doc["code"] == "policy", "agent token for an audience not allowed: exit 1")

    # ---- PoP crafted by hand
    pop_tests(b, tmp)

    # ---- the library: threads on one handle, CAS, re-attestation after expiry
    p = subprocess.run([LIB_DRIVER, b.url, b.data, a.vkey, os.path.join(tmp, "lib.state"),
                        secret.decode(), str(TTL)], capture_output=True, timeout=180)
    check(p.returncode == 0 and b"Sanitizer" not in p.stderr,
          "library: 4 threads x 5 CAS increments on one handle = version 20, then "
          "re-attestation after the session expired\n" + p.stderr.decode()[-1500:])

    # ---- rollback of broker.db only: the store serves version 1 again
    before = json.load(open(a.state_file))
    b.stop()
    copy_dbs(backup, b.data, ("broker.db",))
    b.start()
    rc, doc, err = a.run("state", "get", "agent.cfg")
    check(rc == 1 and doc["code"] == "conflict" and "rollback" in doc["error"]
          and "version 1" in doc["error"] and "version 3" in doc["error"],
          f"broker.db rolled back: refused as a rollback ({doc and doc.get('error')})")
    fresh = Agent(b, os.path.join(tmp, "fresh.state"))
    fresh.vkey = a.vkey
    rc, doc, _ = fresh.run("state", "get", "agent.cfg")
    check(rc == 0 and doc["version"] == 1,
          "a client without memory cannot tell (trust on first use): it reads version 1")

    # ---- rollback of broker.db and log.db: the log shrank, then forked
    b.stop()
    copy_dbs(backup, b.data, ("broker.db", "log.db"))
    b.start()
    rc, doc, err = a.run("state", "get", "agent.cfg")
    check(rc == 1 and doc["code"] == "binding" and "shrank" in doc["error"],
          f"broker.db and log.db rolled back: the log shrank ({doc and doc.get('error')})")
    saved = before["checkpoint"]["size"]
    for _ in range(saved + 4):  # grow the restored log past the size the client saw
        b.req("POST", "/kbs/v0/auth", {"version": "0.4.0", "tee": "tdx", "extra-params": {}})
        st, body, _ = b.req("GET", "/custos/v1/log/checkpoint")
        if int(body.decode().splitlines()[1]) > saved + 2:
            break
    rc, doc, err = a.run("state", "get", "agent.cfg")
    check(rc == 1 and doc["code"] == "binding" and "not an extension" in doc["error"],
          "the restored log grown past the saved size: not an extension "
          f"({doc and doc.get('error')})")
    check(json.load(open(a.state_file)) == before,
          "refused reads leave the state file as it was")
    b.stop()

    tls_checks(tmp)


def tls_checks(tmp):
    """HTTPS: the broker authenticated by a CA file or by a pinned SPKI SHA-256 only."""
    crt = os.path.join(tmp, "tls.crt")
    kf = os.path.join(tmp, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", kf, "-out", crt, "-days",
                    "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    spki = x509.load_pem_x509_certificate(open(crt, "rb").read()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pin = hashlib.sha256(spki).hexdigest()
    b = Broker(os.path.join(tmp, "tls"), tls=(crt, kf))
    check(b.url.startswith("https://"), "TLS broker: https")
    set_policy(b)
    secret = b"over-tls-" + os.urandom(8).hex().encode()
    b.admin("PUT", "resource/default/dev/secret", secret, "application/octet-stream")
    a = Agent(b, os.path.join(tmp, "tls.state"))
    a.vkey = log_vkey(b)
    rc, doc, err = a.run("get", "default/dev/secret", trust=("--cacert", crt))
    check(rc == 0 and base64.b64decode(doc["value"]) == secret, "https with --cacert " + err[:200])
    rc, doc, err = a.run("get", "default/dev/secret", trust=("--pin", pin))
    check(rc == 0 and base64.b64decode(doc["value"]) == secret,
          "https with --pin (hex SHA-256 of the SPKI) and no CA " + err[:200])
    pin64 = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    rc, doc, err = a.run("get", "default/dev/secret", trust=("--pin", pin64))
    check(rc == 0, "https with --pin in base64 " + err[:200])
    wrong = hashlib.sha256(b"another key").hexdigest()
    rc, doc, err = a.run("get", "default/dev/secret", trust=("--pin", wrong))
    check(rc == 2 and doc["code"] == "io" and "cannot reach" in doc["error"],
          "https with a wrong pin: refused before anything is sent")
    rc, doc, err = a.run("get", "default/dev/secret")
    check(rc == 2 and doc["code"] == "io", "https with neither CA nor pin: the self-signed "
          "certificate is refused")
    rc, doc, err = a.run("get", "default/dev/secret", trust=("--pin", wrong, "--cacert", crt))
    check(rc == 2, "--pin and --cacert together are refused by the CLI")
    b.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="custos-agent-")
    try:
        run(tmp)
    except Exception:
        FAILS.append("exception")
        raise
    finally:
        for proc in RUNNING:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not FAILS:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"artifacts kept in {tmp}")
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
