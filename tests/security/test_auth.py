"""Authentication: API keys, JWT (HS256, RS256 via JWKS), one uniform 401, rate limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import AUDIENCE, ISSUER, SECURITY, api_key, bearer, rsa_keys, secured_config
from tests.stories.conftest import LiveDemo, post_raw

QUERY = '{ customer(id: "crm:C-1001") { name } }'


def forge_hs256(payload: dict[str, Any], secret: str) -> str:
    """The algorithm-confusion attack: sign HS256 with the public key material as the secret."""
    import base64
    import hashlib
    import hmac
    import json

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{part(payload)}"
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"sub": "agent-7", "role": "agent", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 300}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


UNAUTHORIZED = [
    ("no credentials", {}),
    ("unknown api key", {"X-Api-Key": "guess"}),
    ("basic scheme", {"Authorization": "Basic YWRtaW46YWRtaW4="}),
    ("garbage token", {"Authorization": "Bearer not.a.jwt"}),
    ("expired", bearer(claims(exp=int(time.time()) - 3600))),
    ("wrong audience", bearer(claims(aud="someone-else"))),
    ("wrong issuer", bearer(claims(iss="https://evil.test"))),
    ("no expiry", bearer(claims(exp=None))),
    ("wrong secret", bearer(claims(), key="another-secret-that-is-long-enough-0123456789")),
    ("alg none", {"Authorization": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                                   "eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0."}),
    ("undeclared role", bearer(claims(role="root"))),
    ("expires in ten years", bearer(claims(exp=int(time.time()) + 10 * 365 * 86400))),
    ("issued for a week", bearer(claims(iat=int(time.time()) - 60, exp=int(time.time()) + 7 * 86400))),
]


@pytest.mark.parametrize(("case", "headers"), UNAUTHORIZED, ids=[c for c, _ in UNAUTHORIZED])
def test_bad_or_missing_credentials_get_one_uniform_401(secured: LiveDemo, case: str,
                                                        headers: dict[str, str]) -> None:
    status, body = post_raw(secured.handle.url, QUERY, headers=headers)
    assert status == 401
    assert body == {"errors": [{"message": "unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]}


def test_api_key_and_jwt_are_accepted(secured: LiveDemo) -> None:
    for headers in (api_key("agent"), bearer(claims())):
        status, body = post_raw(secured.handle.url, QUERY, headers=headers)
        assert status == 200 and body["data"]["customer"]["name"] == "Ann Lee"


def test_rs256_with_a_jwks_file(tmp_path: Path) -> None:
    private, jwks = rsa_keys(tmp_path)
    security = {**SECURITY, "jwt": {"algorithms": ["RS256"], "jwks_file": str(jwks), "audience": AUDIENCE,
                                    "issuer": ISSUER}, "audit": None}
    live = LiveDemo(tmp_path / "demo", secured_config(security))
    try:
        good = bearer(claims(), key=private, algorithm="RS256", headers={"kid": "k1"})
        unknown_kid = bearer(claims(), key=private, algorithm="RS256", headers={"kid": "k2"})
        hs_forgery = {"Authorization": f"Bearer {forge_hs256(claims(), jwks.read_text())}"}
        assert post_raw(live.handle.url, QUERY, headers=good)[0] == 200
        assert post_raw(live.handle.url, QUERY, headers=unknown_kid)[0] == 401
        assert post_raw(live.handle.url, QUERY, headers=hs_forgery)[0] == 401
    finally:
        live.close()


def test_rate_limit_per_principal_answers_429_with_retry_after(tmp_path: Path) -> None:
    security = {**SECURITY, "rate_limit": {"rate": 0.5, "burst": 2}, "audit": None}
    live = LiveDemo(tmp_path, secured_config(security))
    try:
        statuses = [post_raw(live.handle.url, QUERY, headers=api_key("agent"))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert post_raw(live.handle.url, QUERY, headers=api_key("admin"))[0] == 200  # another principal
        import urllib.error
        import urllib.request

        request = urllib.request.Request(live.handle.url, data=b'{"query":"{__typename}"}',
                                         headers={"Content-Type": "application/json", **api_key("agent")})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 429 and int(caught.value.headers["Retry-After"]) >= 1
    finally:
        live.close()


def test_health_endpoints_need_no_credentials(secured: LiveDemo) -> None:
    import urllib.request

    base = secured.handle.url.removesuffix("/graphql")
    with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
        assert response.status == 200


def test_a_config_without_security_refuses_every_request(tmp_path: Path) -> None:
    import yaml

    from federation.demo.run import demo_config_text

    config = yaml.safe_load(demo_config_text())
    del config["security"]
    live = LiveDemo(tmp_path, yaml.safe_dump(config))
    try:
        status, body = post_raw(live.handle.url, QUERY)
        assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert post_raw(live.handle.url, QUERY, headers=api_key("admin"))[0] == 401
    finally:
        live.close()
