#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop of cs_jose with python3-jwcrypto (Debian), run by CTest as jose_interop.

usage: interop.py PATH/TO/jose_tool

Checks, each way:
  - our JWE (flattened JSON) to a key jwcrypto made decrypts with jwcrypto: EC P-256,
    P-384, P-521 (ECDH-ES+A256KW) and RSA-3072 (RSA-OAEP-256), A256GCM; the protected
    header carries alg, enc, epk and kid; our RFC 7638 thumbprint equals jwcrypto's;
  - a JWE jwcrypto made to a key we generated decrypts with cs_jwe_decrypt, for the same
    four kinds; jwcrypto's RSA1_5 and A128GCM are refused;
  - our ES256 JWT verifies with jwcrypto against our JWKS (and our PEM key file loads in
    jwcrypto with the same thumbprint as our kid);
  - jwcrypto's ES256 JWT made with our key verifies with cs_jwt_verify; one signed by
    another key under our kid, an HS256 one and an expired one are refused.
Exit 0 when all pass, 1 on any failure, 77 (skip) when jwcrypto is not installed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    from jwcrypto import jwe, jwk, jwt
    from jwcrypto.common import base64url_decode
except ImportError:
    print("SKIP: python3-jwcrypto is not installed (apt-get install python3-jwcrypto)")
    sys.exit(77)

TOOL = sys.argv[1] if len(sys.argv) == 2 else None
if TOOL is None or not os.access(TOOL, os.X_OK):
    print("usage: interop.py PATH/TO/jose_tool", file=sys.stderr)
    sys.exit(2)

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tool(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace").strip()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def protected_header(text):
    obj = json.loads(text)
    return obj, json.loads(base64url_decode(obj["protected"]))


def ours_to_jwcrypto(tmp):
    plaintext = os.urandom(1500)
    pt_file = write(os.path.join(tmp, "pt.bin"), plaintext)
    cases = [("EC", "P-256"), ("EC", "P-384"), ("EC", "P-521"), ("RSA", 3072)]
    for kty, param in cases:
        name = f"{kty}-{param}"
        if kty == "EC":
            key = jwk.JWK.generate(kty="EC", crv=param)
            alg = "ECDH-ES+A256KW"
        else:
            key = jwk.JWK.generate(kty="RSA", size=param)
            alg = "RSA-OAEP-256"
        pub = json.loads(key.export_public())
        pub["alg"] = alg
        pub_file = write(os.path.join(tmp, "pub.json"), json.dumps(pub))
        rc, out, err = tool("encrypt", pub_file, pt_file, "res-1")
        check(rc == 0, f"ours->jwcrypto {name}: cs_jwe_encrypt ({err})")
        if rc != 0:
            continue
        obj, hdr = protected_header(out)
        check(sorted(obj) == ["ciphertext", "encrypted_key", "iv", "protected", "tag"],
              f"ours->jwcrypto {name}: flattened members {sorted(obj)}")
        want = {"alg", "enc", "kid"} | ({"epk"} if kty == "EC" else set())
        check(set(hdr) == want and hdr["alg"] == alg and hdr["enc"] == "A256GCM",
              f"ours->jwcrypto {name}: protected header {sorted(hdr)}")
        token = jwe.JWE()
        try:
            token.deserialize(out.decode(), key=key)
            got = token.payload
        except Exception as e:  # noqa: BLE001 (report whatever jwcrypto raised)
            got = repr(e).encode()
        check(got == plaintext, f"ours->jwcrypto {name}: jwcrypto decrypts the plaintext")
        rc, thp, err = tool("thumbprint", pub_file)
        check(rc == 0 and thp.decode().strip() == key.thumbprint(),
              f"ours->jwcrypto {name}: RFC 7638 thumbprint equals jwcrypto's")


def jwcrypto_to_ours(tmp):
    plaintext = b"released to the TEE: " + os.urandom(600)
    for kind in ["EC-P256", "EC-P384", "EC-P521", "RSA-3072"]:
        priv_file = os.path.join(tmp, "priv.json")
        pub_file = os.path.join(tmp, "pub.json")
        rc, _, err = tool("keygen", kind, priv_file, pub_file)
        check(rc == 0, f"jwcrypto->ours {kind}: cs_tee_keypair_generate ({err})")
        if rc != 0:
            continue
        with open(pub_file) as f:
            pub = json.load(f)
        key = jwk.JWK(**pub)
        alg = pub["alg"]
        enc = jwe.JWE(plaintext, protected=json.dumps({"alg": alg, "enc": "A256GCM"}))
        enc.add_recipient(key)
        jwe_file = write(os.path.join(tmp, "jwe.json"), enc.serialize())
        rc, out, err = tool("decrypt", priv_file, jwe_file)
        check(rc == 0 and out == plaintext,
              f"jwcrypto->ours {kind}: cs_jwe_decrypt gives the plaintext ({err})")
        # what we refuse, even when well formed
        refused = [("A128GCM", alg, [alg, "A128GCM"])]
        if kind == "RSA-3072":
            refused.append(("A256GCM", "RSA1_5", ["RSA1_5", "A256GCM"]))
        for enc_name, alg_name, algs in refused:
            bad = jwe.JWE(plaintext, protected=json.dumps({"alg": alg_name, "enc": enc_name}),
                          algs=algs)
            bad.add_recipient(key)
            jwe_file = write(os.path.join(tmp, "jwe.json"), bad.serialize())
            rc, out, err = tool("decrypt", priv_file, jwe_file)
            check(rc == 1 and "error: unsupported" in err and out == b"",
                  f"jwcrypto->ours {kind}: {alg_name}/{enc_name} refused ({err})")


def tokens(tmp):
    key_file = os.path.join(tmp, "token-key.pem")
    now = int(time.time())
    claims = {"iss": "custos", "sub": "agent", "iat": now, "exp": now + 300,
              "ear.status": "affirming", "n": [1, 2, 3]}
    claims_file = write(os.path.join(tmp, "claims.json"), json.dumps(claims))
    rc, out, err = tool("jwt-sign", key_file, claims_file)
    check(rc == 0, f"jwt: cs_jwt_sign ({err})")
    if rc != 0:
        return
    check(os.stat(key_file).st_mode & 0o7777 == 0o600, "jwt: new key file has mode 0600")
    token = out.decode().strip()
    rc, jwks_text, err = tool("jwks", key_file)
    check(rc == 0, f"jwt: cs_jwt_key_jwks ({err})")
    keyset = jwk.JWKSet.from_json(jwks_text.decode())
    kid = json.loads(jwks_text)["keys"][0]["kid"]
    try:
        t = jwt.JWT(jwt=token, key=keyset, algs=["ES256"])
        got = json.loads(t.claims)
        hdr = json.loads(t.header)
    except Exception as e:  # noqa: BLE001
        got, hdr = repr(e), {}
    check(got == claims, "ours->jwcrypto: our JWT verifies with jwcrypto against our JWKS")
    check(hdr == {"alg": "ES256", "typ": "JWT", "kid": kid}, f"ours->jwcrypto: header {hdr}")
    with open(key_file, "rb") as f:
        pem_key = jwk.JWK.from_pem(f.read())
    check(pem_key.thumbprint() == kid and keyset.get_key(kid).thumbprint() == kid,
          "jwt: kid is the RFC 7638 thumbprint (jwcrypto reads our PEM file)")

    def verify(tok, at):
        tok_file = write(os.path.join(tmp, "tok.txt"), tok)
        return tool("jwt-verify", key_file, tok_file, str(at))

    signed = jwt.JWT(header={"alg": "ES256", "kid": kid, "typ": "JWT"}, claims=claims)
    signed.make_signed_token(pem_key)
    rc, out, err = verify(signed.serialize(), now)
    check(rc == 0 and json.loads(out) == claims,
          f"jwcrypto->ours: jwcrypto's ES256 JWT verifies with cs_jwt_verify ({err})")
    rc, _, err = verify(signed.serialize(), now + 361)
    check(rc == 1 and "error: expired" in err, f"jwcrypto->ours: expired refused ({err})")
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    forged = jwt.JWT(header={"alg": "ES256", "kid": kid, "typ": "JWT"}, claims=claims)
    forged.make_signed_token(other)
    rc, _, err = verify(forged.serialize(), now)
    check(rc == 1 and "error: signature" in err,
          f"jwcrypto->ours: another key under our kid refused ({err})")
    hmac_key = jwk.JWK(kty="oct", k=jwk.base64url_encode(jwks_text))
    hs = jwt.JWT(header={"alg": "HS256", "kid": kid, "typ": "JWT"}, claims=claims,
                 algs=["HS256"])
    hs.make_signed_token(hmac_key)
    rc, _, err = verify(hs.serialize(), now)
    check(rc == 1 and "error: unsupported" in err, f"jwcrypto->ours: HS256 refused ({err})")


def main():
    with tempfile.TemporaryDirectory(prefix="cs-jose-interop-") as tmp:
        ours_to_jwcrypto(tmp)
        jwcrypto_to_ours(tmp)
        tokens(tmp)
    if failures:
        print(f"{len(failures)} interop check(s) failed")
        return 1
    print("all interop checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
