"""Authentication, per-role field policy with masking, query limits, audit and rate limits."""

from federation.security.audit import AuditEntry, AuditLog, AuditSink
from federation.security.auth import Authenticator, AuthError, Principal
from federation.security.extension import PRINCIPAL, FieldGuard, Forbidden
from federation.security.limits import document_hash, limit_extensions
from federation.security.policy import Policy
from federation.security.ratelimit import TokenBuckets
from federation.security.settings import SecuritySettings

__all__ = [
    "PRINCIPAL",
    "AuditEntry",
    "AuditLog",
    "AuditSink",
    "AuthError",
    "Authenticator",
    "FieldGuard",
    "Forbidden",
    "Policy",
    "Principal",
    "SecuritySettings",
    "TokenBuckets",
    "document_hash",
    "limit_extensions",
]
