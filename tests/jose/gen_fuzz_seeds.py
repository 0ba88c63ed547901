#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of fuzz_tee_jwk (tests/fuzz/corpus/tee_jwk/): KBS tee-pubkey
JWKs that parse (EC P-256/384/521, RSA 2048/3072, with and without alg, kid, use) and
near misses that must be refused (RSA1_5, private members, off-curve points, short
coordinates, small moduli, padded base64url, unknown kty). Fresh keys each run, made by
python3-jwcrypto.

usage: gen_fuzz_seeds.py [OUT_DIR]
"""
import json
import os
import sys

from jwcrypto import jwk
from jwcrypto.common import base64url_decode, base64url_encode

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "tee_jwk")
os.makedirs(out, exist_ok=True)


def pub(key, **extra):
    d = json.loads(key.export_public())
    d.update(extra)
    return d


def write(name, obj):
    with open(os.path.join(out, name), "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")))


def flip_last_bit(b64):
    raw = bytearray(base64url_decode(b64))
    raw[-1] ^= 1
    return base64url_encode(bytes(raw))


ES = "ECDH-ES+A256KW"
OAEP = "RSA-OAEP-256"
for crv in ["P-256", "P-384", "P-521"]:
    k = jwk.JWK.generate(kty="EC", crv=crv)
    write(f"ec-{crv}", pub(k, alg=ES))
p256 = jwk.JWK.generate(kty="EC", crv="P-256")
write("ec-noalg", pub(p256))
write("ec-kid-use", pub(p256, alg=ES, kid="agent-key-1", use="enc"))
write("ec-private-d", json.loads(p256.export_private()) | {"alg": ES})
write("ec-alg-ecdh-es", pub(p256, alg="ECDH-ES"))
write("ec-off-curve", pub(p256, alg=ES) | {"y": flip_last_bit(pub(p256)["y"])})
short_x = base64url_encode(base64url_decode(pub(p256)["x"])[1:])
write("ec-short-x", pub(p256, alg=ES) | {"x": short_x})
write("ec-padded-x", pub(p256, alg=ES) | {"x": pub(p256)["x"] + "="})
write("ec-p384-crv-p256-point", pub(p256, alg=ES) | {"crv": "P-384"})
write("okp", {"kty": "OKP", "crv": "X25519", "x": pub(p256)["x"]})
for bits in [2048, 3072]:
    r = jwk.JWK.generate(kty="RSA", size=bits)
    write(f"rsa-{bits}", pub(r, alg=OAEP))
r2048 = jwk.JWK.generate(kty="RSA", size=2048)
write("rsa-noalg", pub(r2048))
write("rsa-rsa1_5", pub(r2048, alg="RSA1_5"))
write("rsa-oaep-sha1", pub(r2048, alg="RSA-OAEP"))
write("rsa-e3", pub(r2048, alg=OAEP) | {"e": "Aw"})
write("rsa-private", json.loads(r2048.export_private()) | {"alg": OAEP})
write("rsa-1024", pub(jwk.JWK.generate(kty="RSA", size=1024), alg=OAEP))
write("not-an-object", "[1,2,3]")
write("empty-object", "{}")
print(f"wrote {len(os.listdir(out))} seeds to {out}")
