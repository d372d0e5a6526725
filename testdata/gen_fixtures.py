#!/usr/bin/env python3
"""Generate the key and token fixtures of jwtguard's key tests.

An implementation independent of golang-jwt: keys from the Python
`cryptography` package, and JWS signing (RFC 7515 compact serialisation, the
algorithms of RFC 7518 and RFC 8037) written out here by hand on its
primitives, including the DER -> raw r||s conversion of ECDSA signatures.

Run from the repository root:  python3 testdata/gen_fixtures.py
It rewrites testdata/keys/*.pem, testdata/tokens.json and testdata/jwks.json.
Tokens expire on 2100-01-01, and the tests also fix the clock.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")

CLAIMS = {
    "sub": "user-1",
    "iss": "https://issuer.test",
    "aud": "api.test",
    "iat": 1700000000,
    "exp": 4102444800,  # 2100-01-01
    "jti": "fixture",
    "type": "access",
}


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n: int, size: int = 0) -> bytes:
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


def write(name: str, data: bytes) -> str:
    with open(os.path.join(KEYS, name), "wb") as f:
        f.write(data)
    return "keys/" + name


PEM = serialization.Encoding.PEM
PKCS8 = serialization.PrivateFormat.PKCS8
TRAD = serialization.PrivateFormat.TraditionalOpenSSL  # PKCS#1 for RSA, SEC 1 for EC
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
NOENC = serialization.NoEncryption()

HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
EC_SIZES = {"ES256": 32, "ES384": 48, "ES512": 66}


def sign(alg: str, key, signing_input: bytes) -> bytes:
    bits = alg[2:]
    if alg.startswith("HS"):
        return hmac.new(key, signing_input, getattr(hashlib, "sha" + bits)).digest()
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), HASHES[bits])
    if alg.startswith("PS"):
        h = HASHES[bits]
        return key.sign(signing_input, padding.PSS(padding.MGF1(h), h.digest_size), h)
    if alg.startswith("ES"):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(HASHES[bits])))
        size = EC_SIZES[alg]
        return uint(r, size) + uint(s, size)
    if alg == "EdDSA":
        return key.sign(signing_input)
    raise ValueError(alg)


def token(alg: str, kid: str, key) -> str:
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    h = b64(json.dumps(header, separators=(",", ":")).encode())
    p = b64(json.dumps(CLAIMS, separators=(",", ":")).encode())
    signing_input = (h + "." + p).encode()
    return h + "." + p + "." + b64(sign(alg, key, signing_input))


def jwk_of(pub, kid: str, alg: str) -> dict:
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": alg, "n": b64(uint(n.n)), "e": b64(uint(n.e))}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        n = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
        return {"kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": crv,
                "x": b64(uint(n.x, size)), "y": b64(uint(n.y, size))}
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "kid": kid, "use": "sig", "alg": alg, "crv": "Ed25519", "x": b64(raw)}
    raise TypeError(pub)


def self_signed(priv) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwtguard fixture")])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(priv.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=36500))
            .sign(priv, hashes.SHA256()))
    return cert.public_bytes(PEM)


def main() -> None:
    os.makedirs(KEYS, exist_ok=True)
    files = {}

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files["rsa-pkcs1"] = write("rsa2048-pkcs1.pem", rsa_key.private_bytes(PEM, TRAD, NOENC))
    files["rsa-pkcs8"] = write("rsa2048-pkcs8.pem", rsa_key.private_bytes(PEM, PKCS8, NOENC))
    files["rsa-spki"] = write("rsa2048-spki.pem", rsa_key.public_key().public_bytes(PEM, SPKI))
    files["rsa-pkcs1-public"] = write("rsa2048-pkcs1-public.pem", rsa_key.public_key().public_bytes(
        PEM, serialization.PublicFormat.PKCS1))
    files["rsa-cert"] = write("rsa2048-cert.pem", self_signed(rsa_key))

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    files["rsa1024-spki"] = write("rsa1024-spki.pem", weak.public_key().public_bytes(PEM, SPKI))

    ec_keys = {}
    for alg, curve, name in (("ES256", ec.SECP256R1(), "p256"), ("ES384", ec.SECP384R1(), "p384"),
                             ("ES512", ec.SECP521R1(), "p521")):
        k = ec.generate_private_key(curve)
        ec_keys[alg] = k
        files[name + "-sec1"] = write(f"ec-{name}-sec1.pem", k.private_bytes(PEM, TRAD, NOENC))
        files[name + "-pkcs8"] = write(f"ec-{name}-pkcs8.pem", k.private_bytes(PEM, PKCS8, NOENC))
        files[name + "-spki"] = write(f"ec-{name}-spki.pem", k.public_key().public_bytes(PEM, SPKI))

    ed = ed25519.Ed25519PrivateKey.generate()
    files["ed25519-pkcs8"] = write("ed25519-pkcs8.pem", ed.private_bytes(PEM, PKCS8, NOENC))
    files["ed25519-spki"] = write("ed25519-spki.pem", ed.public_key().public_bytes(PEM, SPKI))

    secrets = {"HS256": os.urandom(32), "HS384": os.urandom(48), "HS512": os.urandom(64)}

    tokens, jwks = [], []
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        kid = "rsa-" + alg.lower()
        tokens.append({"alg": alg, "kid": kid, "pem": files["rsa-spki"], "token": token(alg, kid, rsa_key)})
        jwks.append(jwk_of(rsa_key.public_key(), kid, alg))
    for alg, spki in (("ES256", "p256-spki"), ("ES384", "p384-spki"), ("ES512", "p521-spki")):
        kid = "ec-" + alg.lower()
        tokens.append({"alg": alg, "kid": kid, "pem": files[spki], "token": token(alg, kid, ec_keys[alg])})
        jwks.append(jwk_of(ec_keys[alg].public_key(), kid, alg))
    tokens.append({"alg": "EdDSA", "kid": "ed-1", "pem": files["ed25519-spki"], "token": token("EdDSA", "ed-1", ed)})
    jwks.append(jwk_of(ed.public_key(), "ed-1", "EdDSA"))
    for alg, secret in secrets.items():
        kid = "hmac-" + alg.lower()
        tokens.append({"alg": alg, "kid": kid, "secret": b64(secret), "token": token(alg, kid, secret)})

    # The algorithm confusion attack: HS256 with the RSA public key's PEM text as the HMAC secret.
    spki_pem = rsa_key.public_key().public_bytes(PEM, SPKI)
    confusion = token("HS256", "rsa-rs256", spki_pem)

    with open(os.path.join(HERE, "tokens.json"), "w") as f:
        json.dump({"claims": CLAIMS, "files": files, "tokens": tokens, "confusion": confusion}, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "jwks.json"), "w") as f:
        json.dump({"keys": jwks}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
