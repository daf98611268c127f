"""`federation new-connector NAME`: a connector package skeleton that passes the conformance kit."""

from federation.scaffold.new_connector import NewConnectorError, check_name, write_skeleton

__all__ = ["NewConnectorError", "check_name", "write_skeleton"]
