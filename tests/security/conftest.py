"""The demo's real sources behind a gateway with authentication, roles, limits and audit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.demo.run import demo_config_text
from tests.stories.conftest import LiveDemo

KEYS = {"agent": "agent-key-0123456789abcdef", "analyst": "analyst-key-0123456789abcdef",
        "admin": "admin-key-0123456789abcdef", "support": "support-key-0123456789abcdef"}
JWT_SECRET = "jwt-test-secret-that-is-long-enough-0123456789"
AUDIENCE, ISSUER = "onepane", "https://idp.example.test"

SECURITY: dict[str, Any] = {
    "api_keys": [{"name": f"{role}-ui", "sha256": hashlib.sha256(key.encode()).hexdigest(), "role": role}
                 for role, key in KEYS.items()],
    "jwt": {"algorithms": ["HS256"], "secret": "${ONEPANE_TEST_JWT_SECRET:-" + JWT_SECRET + "}",
            "audience": AUDIENCE, "issuer": ISSUER},
    "roles": {
        "agent": {
            "allow": ["*"],
            "deny": ["Query.sources"],
            "mask": {"Customer.emails": "email", "Customer.phones": "phone", "Payment.cardLast4": "last4",
                     "Customer.dateOfBirth": "year", "SourceRecord.linkedBy": "contacts",
                     "TimelineEntry.summary": "contacts"},
        },
        "analyst": {"allow": ["Query.purchases", "Query.purchaseStats", "PurchaseStats.*", "PurchaseGroup.*",
                              "Purchase.*", "LineItem.*", "Store.*", "Payment.kind", "Payment.amount"],
                    "denied": "error"},
        "admin": {"allow": ["*"], "introspection": True},
        # Reads customers' records but not who they are by name or phone, nor any amount (issue 25, finding 10).
        "support": {"allow": ["*"],
                    "deny": ["Query.sources", "Customer.name", "Customer.phones", "Purchase.total", "Payment.amount"]},
    },
    "limits": {"max_depth": 8, "max_aliases": 30},
    "audit": {"path": "audit.jsonl"},
    "rate_limit": {"rate": 1000, "burst": 1000},
}


def secured_config(security: dict[str, Any]) -> str:
    config = yaml.safe_load(demo_config_text())
    config["security"] = security
    return yaml.safe_dump(config, sort_keys=False)


def api_key(role: str) -> dict[str, str]:
    return {"X-Api-Key": KEYS[role]}


def bearer(claims: dict[str, Any], key: Any = JWT_SECRET, algorithm: str = "HS256",
           headers: dict[str, Any] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm, headers=headers)}"}


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    live = LiveDemo(tmp_path_factory.mktemp("secured"), secured_config(SECURITY))
    yield live
    live.close()


def rsa_keys(folder: Path) -> tuple[Any, Path]:
    """A private key to sign with and a JWKS file holding its public half (kid 'k1')."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(public_pem)))
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    return private, jwks
