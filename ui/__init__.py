"""Streamlit-side helpers of the Layerlab app (the engine lives in builder/ and datasets/)."""
