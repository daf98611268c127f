"""Identity beyond shared keys: fuzzy rules, scoring, blocking and the gateway's override store.

Import the submodules directly (`federation.identity.scoring`, `.overrides`…); the rules these
act on are declared in the model (`federation/model/identity.py`), which never imports this package.
"""

__all__: list[str] = []
