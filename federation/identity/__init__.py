"""Identity beyond shared keys: fuzzy rules, scoring, blocking and the gateway's override store.

Import the submodules directly (`federation.identity.scoring`, `.overrides`…): the model
declaration imports `rules`, so this package keeps no imports of its own.
"""

__all__: list[str] = []
