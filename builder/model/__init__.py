"""The model document and its declarations: spec (the JSON graph), params, the layer catalog, plain-words descriptions."""
