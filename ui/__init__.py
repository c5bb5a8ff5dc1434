"""The Streamlit page: the only package that imports Streamlit (to come, issue 5)."""
