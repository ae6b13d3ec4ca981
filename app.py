"""Layerlab entry point (placeholder until the app issue lands)."""
import streamlit as st

st.set_page_config(page_title="Layerlab", layout="wide")
st.title("Layerlab")
st.write("Build a neural network by pointing and clicking, train it, and see what it learned.")
