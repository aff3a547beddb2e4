"""Interoperability script for the tests of package password.

Reads JSON lines on stdin and answers one JSON line each on stdout:
  {"op": "verify", "password": P, "hash": H, "wrong": W}
      -> {"ok": <H verifies P>, "wrong_ok": <H verifies W>}
  {"op": "hash", "password": P, "t": T, "m": M, "p": P, "type": "id"|"i"}
      -> {"hash": <argon2-cffi hash of P>}
Uses argon2-cffi (Debian package python3-argon2).
"""
import json
import sys

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError


def verifies(hash_, password):
    try:
        return PasswordHasher().verify(hash_, password)
    except VerifyMismatchError:
        return False


for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "verify":
        out = {"ok": verifies(req["hash"], req["password"]),
               "wrong_ok": verifies(req["hash"], req["wrong"])}
    elif req["op"] == "hash":
        ph = PasswordHasher(time_cost=req["t"], memory_cost=req["m"], parallelism=req["p"],
                            type=Type.ID if req["type"] == "id" else Type.I)
        out = {"hash": ph.hash(req["password"])}
    else:
        raise SystemExit("unknown op " + req["op"])
    print(json.dumps(out), flush=True)
