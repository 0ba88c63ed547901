#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of reboot and resume (docs/client.md, docs/cache.md).

Starts a software TPM (swtpm, UNIX socket) and `custosd --dev` on loopback, and drives
`custos agent ... cache save|open|resume|reconcile` (attester "sim", identity "demo", policy
docs/examples/policy-demo.json). Each case checks the exit status, the result code and what
is served:
  - the TPM-sealed cache opens with the broker down and serves the credential and the state;
  - a flipped byte (signature), a cache older than its window (expired), a cache opened as
    another identity (binding), a PCR extended since the save (tcb: the TPM refuses to
    unseal), an older copy of the cache put back after a newer save (conflict: NV counter);
  - resume: from the broker when it answers, from the cache when it is down, never from the
    cache when the broker refuses (a policy without the identity);
  - the broker provider: its key comes from the broker; a file older than the state the
    client saw is refused (rollback);
  - reconcile: push (a version written offline goes back with CAS), pull (the broker's newer
    version replaces the cached one), conflict (both changed: exit 1, nothing overwritten).
Skips (77) without swtpm or tpm2_pcrextend.

usage: rehydrate_flow.py CUSTOSD CUSTOS EXAMPLES_DIR
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

CUSTOSD, CUSTOS, EXAMPLES = sys.argv[1], sys.argv[2], sys.argv[3]
FAILS = []
PROCS = []

for tool in ("swtpm", "tpm2_pcrextend"):
    if shutil.which(tool) is None:
        print(f"SKIP: {tool} is not installed")
        sys.exit(77)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


class Swtpm:
    def __init__(self, root):
        os.makedirs(root)
        self.sock = os.path.join(root, "sock")
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--server", f"type=unixio,path={self.sock}",
             "--ctrl", f"type=unixio,path={self.sock}.ctrl", "--flags",
             "not-need-init,startup-clear", "--tpmstate", f"dir={root}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(self.proc)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.025)
        self.tcti = f"swtpm:path={self.sock}"

    def extend_pcr7(self):
        env = dict(os.environ, TPM2TOOLS_TCTI=self.tcti)
        p = subprocess.run(["tpm2_pcrextend", "7:sha256=" + "ab" * 32], env=env,
                           capture_output=True)
        return p.returncode == 0


class Broker:
    def __init__(self, root):
        self.root = root
        self.data = os.path.join(root, "data")
        os.makedirs(root)
        self.n = 0
        self.proc = None
        self.start()

    def start(self):
        self.n += 1
        ready = os.path.join(self.root, f"ready{self.n}")
        args = [CUSTOSD, "--listen", "127.0.0.1:0", "--data-dir", self.data,
                "--ready-file", ready]
        if self.n == 1:
            args.append("--dev")
        else:  # a restart: the same keys and log, by configuration
            tok = open(os.path.join(self.data, "admin.token")).read().strip().encode()
            cfg = os.path.join(self.root, "restart.conf")
            with open(cfg, "w") as f:
                f.write(f"data_dir {self.data}\n"
                        f"admin_token dev-admin admin {hashlib.sha256(tok).hexdigest()}\n"
                        f"dcap_collateral_dir {self.data}/dev-attester/collateral\n"
                        "dcap_development_root yes\n")
            args += ["--config", cfg]
        self.log = open(os.path.join(self.root, f"custosd{self.n}.log"), "w")
        self.proc = subprocess.Popen(args, stderr=self.log)
        PROCS.append(self.proc)
        for _ in range(400):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"custosd exited: see {self.log.name}")
            time.sleep(0.05)
        self.url = open(ready).read().strip()
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()

    def admin(self, *args):
        p = subprocess.run([CUSTOS, "admin", "--url", self.url, "--token-file",
                            os.path.join(self.data, "admin.token"), *args],
                           capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr

    def vkey(self):
        with urllib.request.urlopen(f"{self.url}/custos/v1/log/entry/0") as f:
            return json.load(f)["log_vkey"]


class Agent:
    def __init__(self, b, tpm, tmp, name):
        self.b, self.tpm, self.tmp = b, tpm, tmp
        self.state_file = os.path.join(tmp, name + ".state")
        self.cache = os.path.join(tmp, name + ".cache")
        self.identity = "demo"
        self.url = None

    def run(self, *args):
        cmd = [CUSTOS, "agent", "--url", self.url or self.b.url, "--attester", "sim",
               "--data-dir", self.b.data, "--vkey", VKEY, "--state-file", self.state_file,
               "--identity", self.identity, "--json", *args]
        p = subprocess.run(cmd, capture_output=True, timeout=120,
                           env=dict(os.environ, TSS2_LOG="all+NONE"))
        err = p.stderr.decode(errors="replace")
        if "Sanitizer" in err or "runtime error" in err:
            check(False, "sanitizer report from custos agent " + " ".join(args) + ":\n"
                  + err[:2000])
        docs = []
        for line in p.stdout.decode().splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
        return p.returncode, docs, err

    def copts(self, provider="tpm2"):
        o = ["--cache", self.cache, "--provider", provider]
        if provider == "tpm2":
            o += ["--cache-tcti", self.tpm.tcti, "--pcrs", "sha256:7"]
        return o

    def save(self, provider="tpm2", max_offline="600", objects="agent.cfg"):
        return self.run("cache", "save", *self.copts(provider), "--keep",
                        "default/demo/db-password", "--objects", objects, "--max-offline",
                        max_offline)

    def put(self, data, if_match):
        f = os.path.join(self.tmp, "in")
        with open(f, "wb") as fh:
            fh.write(data)
        return self.run("state", "put", "agent.cfg", "--file", f, "--if-match", str(if_match))


def value(doc):
    import base64
    return base64.b64decode(doc["value"]) if doc and "value" in doc else None


def code(docs):
    return docs[-1].get("code") if docs else None


def main(tmp):
    global VKEY
    tpm = Swtpm(os.path.join(tmp, "tpm"))
    b = Broker(os.path.join(tmp, "broker"))
    VKEY = b.vkey()
    b.admin("policy", "set", os.path.join(EXAMPLES, "policy-demo.json"))
    secret = os.urandom(16).hex().encode()
    for name, data in (("db-password", secret), ("state-key", os.urandom(32)),
                       ("cache-key", os.urandom(32))):
        f = os.path.join(tmp, name)
        with open(f, "wb") as fh:
            fh.write(data)
        b.admin("resource", "set", "default/demo/" + name, "--file", f)

    a = Agent(b, tpm, tmp, "a")
    for v in (1, 2, 3):
        rc, docs, err = a.put(b"version %d" % v, v - 1)
        check(rc == 0 and docs[-1].get("version") == v, f"state put version {v} {err}")
    rc, docs, err = a.save()
    check(rc == 0 and docs[-1].get("ok") is True, "cache save (tpm2) " + err)
    st = os.stat(a.cache)
    check(st.st_mode & 0o777 == 0o600, "the cache file is 0600")
    blob = open(a.cache, "rb").read()
    check(secret not in blob and b"version 3" not in blob,
          "the cache file holds neither the credential nor the state in the clear")

    # ---- open with the broker down ----
    b.stop()
    a.url = "http://127.0.0.1:9"  # nothing listens: the broker is unreachable
    rc, docs, err = a.run("cache", "open", *a.copts(), "get", "default/demo/db-password",
                          "+", "state", "get", "agent.cfg")
    check(rc == 0 and len(docs) == 3 and value(docs[1]) == secret
          and value(docs[2]) == b"version 3" and docs[2].get("version") == 3,
          "cache open (broker down): the credential and agent.cfg version 3 " + err)
    rc, docs, err = a.run("cache", "resume", *a.copts(), "get", "default/demo/db-password")
    check(rc == 0 and docs[0].get("source") == "cache" and value(docs[1]) == secret,
          "resume with the broker down: from the cache " + err)
    rc, docs, err = a.run("cache", "open", *a.copts(), "get", "default/demo/state-key-other")
    check(rc == 1 and code(docs) == "not_found", "a credential the cache does not hold: not_found")
    rc, docs, err = a.run("cache", "resume", *a.copts(), "token")
    check(rc == 2 and code(docs) == "io", "offline: a token needs the broker (io)")

    # ---- refusals ----
    bad = bytearray(blob)
    bad[len(bad) - 20] ^= 1
    with open(a.cache, "wb") as fh:
        fh.write(bad)
    rc, docs, err = a.run("cache", "open", *a.copts())
    check(rc == 1 and code(docs) == "signature" and "tampered" in docs[-1].get("error", ""),
          "a flipped byte: refused (signature) " + err)
    with open(a.cache, "wb") as fh:
        fh.write(blob)
    a.identity = "other"
    rc, docs, err = a.run("cache", "open", *a.copts())
    check(rc == 1 and code(docs) == "binding", "opened as another identity: binding " + err)
    a.identity = "demo"
    rc, docs, err = a.run("cache", "resume", *a.copts()[:2], "--provider", "broker")
    check(rc != 0, "the broker provider with the broker down: no key, no cache")
    os.unlink(a.cache)
    rc, docs, err = a.run("cache", "resume", *a.copts())
    check(rc == 1 and code(docs) == "not_found"
          and "cannot be reached" in docs[-1].get("error", ""),
          "resume with the broker down and no cache: refused, saying both " + err)
    with open(a.cache, "wb") as fh:
        fh.write(blob)

    # ---- the broker again ----
    b.start()
    a.url = None
    rc, docs, err = a.run("cache", "resume", *a.copts(), "state", "get", "agent.cfg")
    check(rc == 0 and docs[0].get("source") == "broker" and value(docs[1]) == b"version 3",
          "resume with the broker up: from the broker " + err)

    # an older copy put back after a newer save: the NV counter refuses it
    old = open(a.cache, "rb").read()
    rc, _, err = a.save()
    check(rc == 0, "cache save again " + err)
    with open(a.cache, "wb") as fh:
        fh.write(old)
    rc, docs, err = a.run("cache", "open", *a.copts())
    check(rc == 1 and code(docs) == "conflict" and "older copy" in docs[-1].get("error", ""),
          "an older cache file swapped back: refused by the NV counter (conflict) " + err)

    # a cache older than its window
    rc, _, err = a.save(max_offline="1")
    check(rc == 0, "cache save with a 1 s window " + err)
    time.sleep(2.2)
    rc, docs, err = a.run("cache", "open", *a.copts())
    check(rc == 1 and code(docs) == "expired", "a cache older than max_offline_s: expired " + err)

    # a PCR extended since the save: the TPM refuses to unseal
    rc, _, err = a.save()
    check(rc == 0, "cache save " + err)
    check(tpm.extend_pcr7(), "tpm2_pcrextend 7")
    rc, docs, err = a.run("cache", "open", *a.copts())
    check(rc == 1 and code(docs) == "tcb" and "PCR" in docs[-1].get("error", ""),
          "PCR 7 changed since the save: the TPM refuses to unseal (tcb) " + err)

    # the broker refuses (policy without the identity): resume must not use the cache
    rc, _, err = a.save()
    check(rc == 0, "cache save under the new PCR value " + err)
    pol = json.load(open(os.path.join(EXAMPLES, "policy-demo.json")))
    pol["identities"][0]["allow_development"] = False
    pol["id"] = "demo-closed"
    closed = os.path.join(tmp, "closed.json")
    json.dump(pol, open(closed, "w"))
    b.admin("policy", "set", closed)
    rc, docs, err = a.run("cache", "resume", *a.copts(), "get", "default/demo/db-password")
    check(rc == 1 and code(docs) in ("policy", "signature") and len(docs) == 1,
          "the broker refuses the attestation: resume fails, the cache is not used " + err)
    b.admin("policy", "set", os.path.join(EXAMPLES, "policy-demo.json"))

    # ---- reconcile: push ----
    b.stop()
    a.url = "http://127.0.0.1:9"
    rc, docs, err = a.run("cache", "resume", *a.copts(), "state", "put", "agent.cfg", "--file",
                          os.path.join(tmp, "db-password"), "--if-match", "2")
    check(rc == 1 and code(docs) == "conflict", "offline put with a stale If-Match: conflict")
    f4 = os.path.join(tmp, "v4")
    open(f4, "wb").write(b"version 4 offline")
    rc, docs, err = a.run("cache", "resume", *a.copts(), "state", "put", "agent.cfg", "--file",
                          f4, "--if-match", "3", "+", "state", "get", "agent.cfg")
    check(rc == 0 and docs[1].get("version") == 4 and value(docs[2]) == b"version 4 offline",
          "offline put: version 4 in the cache, read back from it " + err)
    b.start()
    a.url = None
    rc, docs, err = a.run("cache", "reconcile", *a.copts())
    objs = docs[-1].get("objects", []) if docs else []
    check(rc == 0 and objs and objs[0]["outcome"] == "pushed" and objs[0]["now"] == 4
          and objs[0]["base"] == 3, "reconcile: the offline version pushed as 4 " + err)
    rc, docs, err = a.run("state", "get", "agent.cfg")
    check(rc == 0 and docs[-1].get("version") == 4 and value(docs[-1]) == b"version 4 offline",
          "the broker serves the pushed version, proven by its log")
    rc, docs, err = a.run("cache", "reconcile", *a.copts())
    check(rc == 0 and docs[-1]["objects"][0]["outcome"] == "unchanged",
          "reconcile again: unchanged")

    # ---- pull: another agent writes on the broker ----
    o = Agent(b, tpm, tmp, "o")
    rc, docs, err = o.put(b"version 5 by another", 4)
    check(rc == 0 and docs[-1].get("version") == 5, "another agent writes version 5 " + err)
    rc, docs, err = a.run("cache", "reconcile", *a.copts())
    check(rc == 0 and docs[-1]["objects"][0]["outcome"] == "pulled"
          and docs[-1]["objects"][0]["now"] == 5, "reconcile: the broker's version 5 pulled")
    b.stop()
    a.url = "http://127.0.0.1:9"
    rc, docs, err = a.run("cache", "open", *a.copts(), "state", "get", "agent.cfg")
    check(rc == 0 and value(docs[-1]) == b"version 5 by another",
          "the cache now serves version 5 offline " + err)

    # ---- conflict: both changed ----
    rc, docs, err = a.run("cache", "open", *a.copts(), "state", "put", "agent.cfg", "--file",
                          f4, "--if-match", "5")
    check(rc == 0, "offline put of version 6 " + err)
    b.start()
    a.url = None
    rc, docs, err = o.put(b"version 6 by another", 5)
    check(rc == 0, "another agent writes version 6 on the broker " + err)
    rc, docs, err = a.run("cache", "reconcile", *a.copts())
    objs = docs[-1].get("objects", []) if docs else []
    check(rc == 1 and code(docs) == "conflict" and objs and objs[0]["outcome"] == "conflict"
          and objs[0]["local"] == 6 and objs[0]["remote"] == 6,
          "reconcile: both changed -> conflict reported (exit 1) " + err)
    rc, docs, err = a.run("state", "get", "agent.cfg")
    check(rc == 0 and value(docs[-1]) == b"version 6 by another",
          "the broker's version is not overwritten")
    b.stop()
    a.url = "http://127.0.0.1:9"
    rc, docs, err = a.run("cache", "open", *a.copts(), "state", "get", "agent.cfg")
    check(rc == 0 and value(docs[-1]) == b"version 4 offline",
          "the cache keeps its own version for the operator to decide " + err)

    # ---- the broker provider ----
    b.start()
    a.url = None
    bo = Agent(b, tpm, tmp, "bo")
    bo.state_file = o.state_file
    rc, docs, err = bo.save(provider="broker")
    check(rc == 0, "cache save (broker provider) " + err)
    kept = open(bo.cache, "rb").read()
    rc, docs, err = bo.run("cache", "open", *bo.copts("broker"), "state", "get", "agent.cfg")
    check(rc == 0 and value(docs[-1]) == b"version 6 by another",
          "the broker provider: its key from the broker, state from the cache " + err)
    rc, docs, err = o.put(b"version 7", 6)
    rc2, docs2, _ = o.run("state", "get", "agent.cfg")
    check(rc == 0 and rc2 == 0 and docs2[-1].get("version") == 7, "version 7 written and read")
    with open(bo.cache, "wb") as fh:
        fh.write(kept)
    rc, docs, err = bo.run("cache", "open", *bo.copts("broker"))
    check(rc == 1 and code(docs) == "conflict" and "rollback" in docs[-1].get("error", ""),
          "a broker-provider cache older than the state the client saw: rollback " + err)
    b.stop()


def run():
    tmp = tempfile.mkdtemp(prefix="cs-rehydrate-")
    try:
        main(tmp)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


run()
