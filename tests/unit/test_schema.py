import subprocess
import sys
from pathlib import Path

from federation.api.schema import print_sdl
from federation.model import builtin_model

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text("utf-8")
    assert committed == print_sdl(builtin_model()), "schema.graphql drifted: run `federation schema > schema.graphql`"


def test_contract_names_agent_uis_rely_on() -> None:
    sdl = print_sdl(builtin_model())
    for text in [
        "customer(id: ID!): Customer",
        "customers(email: String = null, phone: String = null, name: String = null, loyaltyNumber: String = null, "
        "orderNumber: String = null, sourceRef: String = null, match: CustomerMatch = null): [Customer!]",
        "purchases(filter: PurchaseFilter = null, first: Int! = 20, after: String = null): PurchaseConnection",
        "sources: [SourceInfo!]",
        "timeline: [TimelineEntry!]!",
        "rawStatuses: [String!]!",
        "linkedBy: [String!]!",
    ]:
        assert text in sdl, text
    for channel in ["EMAIL", "CHAT", "PHONE", "SOCIAL", "SMS", "WHATSAPP", "STORE"]:
        assert f"  {channel}\n" in sdl


def test_cli_prints_the_same_sdl() -> None:
    out = subprocess.run([sys.executable, "-m", "federation", "schema"], capture_output=True, text=True, check=True)
    assert out.stdout == (ROOT / "schema.graphql").read_text("utf-8")


def test_the_core_imports_no_connector() -> None:
    code = (
        "import sys, federation, federation.api.schema, federation.server, federation.engine.request, "
        "federation.cli; bad = [m for m in sys.modules if m == 'connectors' or m.startswith('connectors.')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
