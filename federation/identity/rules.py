"""The `identity:` declaration, kept importable under its old name.

The declaration is part of the model (`federation/model/identity.py`): the model must not
import the identity package that acts on it (docs/architecture.md, "Layers").
"""

from federation.model.identity import LINK, METHODS, SUGGEST, CompareDecl, IdentityDecl, Method, RuleDecl

__all__ = ["LINK", "METHODS", "SUGGEST", "CompareDecl", "IdentityDecl", "Method", "RuleDecl"]
