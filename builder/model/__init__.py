"""The model document and its declarations: spec (the JSON graph), params, the layer catalog, plain-words
descriptions, and the Problem value every check returns."""

__all__ = ["catalog", "describe", "params", "problems", "spec"]  # its public modules (docs/interfaces.md)
