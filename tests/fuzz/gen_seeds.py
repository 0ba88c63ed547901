#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the committed seed corpus under tests/fuzz/corpus/ (run by hand; not part of CI).

Every seed is built here from scratch, so the committed corpus is small and entirely our
own: truncated headers, structurally minimal quotes filled with zeros, minimal JSON
documents with made-up values, and certificates and CRLs from a throw-away test PKI made
with the openssl command line (fresh keys on every run, so the bytes differ between runs).
The real quotes and collateral of ../shared are never copied into the tree:
scripts/fuzz.sh adds them to the build-time corpus, and the replay tests read them
in place.

usage: tests/fuzz/gen_seeds.py   (from the repository root or anywhere)
"""
import json
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

INTEL_QE_VENDOR = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- Intel quotes (layouts of sgx_quote_3.h / _4.h / _5.h) -------------------------------

def header(version, tee_type):
    if version == 3:
        h = struct.pack("<HHIHH", 3, 2, 0, 0, 0)
    else:
        h = struct.pack("<HHII", version, 2, tee_type, 0)
    return h + INTEL_QE_VENDOR + bytes(20)


def cert_data(ctype, data):
    return struct.pack("<HI", ctype, len(data)) + data


def qe_part(auth=b"", pck=b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n\x00"):
    return bytes(384) + bytes(64) + struct.pack("<H", len(auth)) + auth + cert_data(5, pck)


def quote(version, tee_type, body_type, body_len, trailing=b""):
    q = header(version, tee_type)
    if version == 5:
        q += struct.pack("<HI", body_type, body_len)
    q += bytes(body_len)
    sig = bytes(64) + bytes(64)
    sig += qe_part(auth=bytes(32)) if version == 3 else cert_data(6, qe_part())
    return q + struct.pack("<I", len(sig)) + sig + trailing


def intel_quote_seeds():
    seeds = {
        "empty": b"",
        "v4_version_only": struct.pack("<H", 4),
        "v4_header_only": header(4, 0x81),
        "v3_header_cut": header(3, 0)[:30],
        "v3_sgx_min": quote(3, 0, 1, 384),
        "v4_tdx_min": quote(4, 0x81, 2, 584),
        "v4_sgx_min": quote(4, 0, 1, 384),
        "v5_tdx10_min": quote(5, 0x81, 2, 584),
        "v5_tdx15_min": quote(5, 0x81, 3, 648),
        "v5_sgx_min": quote(5, 0, 1, 384),
        "v4_tdx_trailing": quote(4, 0x81, 2, 584, trailing=bytes(8)),
    }
    for name, data in seeds.items():
        write("intel_quote", name, data)
    for name in ("v3_sgx_min", "v4_tdx_min", "v5_tdx15_min", "v4_tdx_trailing"):
        write("dcap_verify", name, seeds[name])


# ---- TCB Info and QE Identity -------------------------------------------------------------

SIG = "00" * 64


def doc(key, body):
    # compact separators, as Intel's PCS serves them
    return json.dumps({key: body, "signature": SIG}, separators=(",", ":"))


def comps(n):
    return [{"svn": n} for _ in range(16)]


def tcb_info_seeds():
    level3 = {"tcb": {"sgxtcbcomponents": comps(1), "pcesvn": 11}, "tcbDate":
              "2024-01-01T00:00:00Z", "tcbStatus": "UpToDate"}
    sgx3 = {"id": "SGX", "version": 3, "issueDate": "2024-01-01T00:00:00Z",
            "nextUpdate": "2024-02-01T00:00:00Z", "fmspc": "00112233aabb", "pceId": "0000",
            "tcbType": 0, "tcbEvaluationDataNumber": 1, "tcbLevels": [level3]}
    tdx_level = {"tcb": {"sgxtcbcomponents": comps(1), "tdxtcbcomponents": comps(2),
                         "pcesvn": 11}, "tcbDate": "2024-01-01T00:00:00Z",
                 "tcbStatus": "OutOfDate", "advisoryIDs": ["INTEL-SA-00001"]}
    tdx3 = dict(sgx3, id="TDX", tcbLevels=[tdx_level],
                tdxModule={"mrsigner": "00" * 48, "attributes": "00" * 8,
                           "attributesMask": "ff" * 8},
                tdxModuleIdentities=[{"id": "TDX_01", "mrsigner": "00" * 48,
                                      "attributes": "00" * 8, "attributesMask": "ff" * 8,
                                      "tcbLevels": [{"tcb": {"isvsvn": 2},
                                                     "tcbDate": "2024-01-01T00:00:00Z",
                                                     "tcbStatus": "UpToDate"}]}])
    level2 = {"tcb": dict({"sgxtcbcomp%02dsvn" % (i + 1): 1 for i in range(16)}, pcesvn=11),
              "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "SWHardeningNeeded"}
    sgx2 = {k: v for k, v in sgx3.items() if k != "id"}
    sgx2.update(version=2, tcbLevels=[level2])
    write("tcb_info", "v3_sgx_min.json", doc("tcbInfo", sgx3))
    write("tcb_info", "v3_tdx_min.json", doc("tcbInfo", tdx3))
    write("tcb_info", "v2_sgx_min.json", doc("tcbInfo", sgx2))
    write("tcb_info", "spaced.json", json.dumps({"signature": SIG, "tcbInfo": sgx3}, indent=1))
    write("tcb_info", "empty_object.json", "{}")
    write("tcb_info", "cut.json", doc("tcbInfo", sgx3)[:40])


def qe_identity_seeds():
    body = {"id": "TD_QE", "version": 2, "issueDate": "2024-01-01T00:00:00Z",
            "nextUpdate": "2024-02-01T00:00:00Z", "tcbEvaluationDataNumber": 1,
            "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
            "attributes": "11000000000000000000000000000000",
            "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner": "00" * 32,
            "isvprodid": 2, "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate":
                                           "2024-01-01T00:00:00Z", "tcbStatus": "UpToDate"},
                                          {"tcb": {"isvsvn": 0}, "tcbDate":
                                           "2023-01-01T00:00:00Z", "tcbStatus": "OutOfDate",
                                           "advisoryIDs": ["INTEL-SA-00002"]}]}
    write("qe_identity", "td_qe_min.json", doc("enclaveIdentity", body))
    write("qe_identity", "qe_min.json", doc("enclaveIdentity", dict(body, id="QE", isvprodid=1)))
    write("qe_identity", "empty_object.json", "{}")
    write("qe_identity", "cut.json", doc("enclaveIdentity", body)[:50])


# ---- X.509: a throw-away PKI ---------------------------------------------------------------

SGX_OID = "1.2.840.113741.1.13.1"


def der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + length + content


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.insert(0, 0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(chunk)
    return der(0x06, out)


def sgx_extension():
    """The SGX extension of a PCK certificate, PCK Certificate and CRL Profile 1.5."""
    def entry(arc, value):
        return der(0x30, oid(arc) + value)
    tcb = b"".join(entry("%s.2.%d" % (SGX_OID, i), der(0x02, b"\x01")) for i in range(1, 17))
    tcb += entry(SGX_OID + ".2.17", der(0x02, b"\x0b"))
    tcb += entry(SGX_OID + ".2.18", der(0x04, bytes(16)))
    body = entry(SGX_OID + ".1", der(0x04, bytes(16)))
    body += entry(SGX_OID + ".2", der(0x30, tcb))
    body += entry(SGX_OID + ".3", der(0x04, bytes(2)))
    body += entry(SGX_OID + ".4", der(0x04, bytes(6)))
    body += entry(SGX_OID + ".5", der(0x0A, b"\x00"))
    return der(0x30, body).hex()


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def x509_seeds():
    with tempfile.TemporaryDirectory() as t:
        def ossl(*args):
            run("openssl", *args, cwd=t)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        # Intel's names (not Intel's keys) so that the verifier gets as far as the chain check
        ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", "/O=custos fuzz seeds, not Intel/CN=Intel SGX PCK Platform CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ossl("req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr",
             "-subj", "/CN=Intel SGX PCK Certificate")
        with open(os.path.join(t, "leaf.ext"), "w") as f:
            f.write("keyUsage=critical,digitalSignature\n%s=DER:%s\n"
                    % (SGX_OID, sgx_extension()))
        ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", "2", "-days", "3650", "-extfile", "leaf.ext", "-out", "leaf.pem")
        ossl("x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der")
        with open(os.path.join(t, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\n"
                    "default_md=sha256\ndefault_crl_days=30\n")
        open(os.path.join(t, "index.txt"), "w").close()
        with open(os.path.join(t, "crlnumber"), "w") as f:
            f.write("01\n")
        ossl("ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem",
             "-out", "crl.pem")
        ossl("crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der")

        def read(name):
            with open(os.path.join(t, name), "rb") as f:
                return f.read()
        leaf, ca = read("leaf.pem"), read("ca.pem")
        write("x509", "pck_leaf_sgx_ext.der", read("leaf.der"))
        write("x509", "chain.pem", leaf + ca)
        write("x509", "crl.der", read("crl.der"))
        write("x509", "crl.pem", read("crl.pem"))
        # the same chain as the PCK certification data of a quote, for the verifier
        pck = leaf + ca + b"\x00"
        write("dcap_verify", "v4_tdx_own_pck_chain", quote_with_pck(pck))
    write("x509", "begin_only.pem", "-----BEGIN CERTIFICATE-----\n")
    write("x509", "empty_block.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    write("x509", "der_seq_header", bytes.fromhex("30820100"))


def quote_with_pck(pck):
    q = header(4, 0x81) + bytes(584)
    sig = bytes(128) + cert_data(6, bytes(384 + 64) + struct.pack("<H", 0) + cert_data(5, pck))
    return q + struct.pack("<I", len(sig)) + sig


if __name__ == "__main__":
    intel_quote_seeds()
    tcb_info_seeds()
    qe_identity_seeds()
    x509_seeds()
