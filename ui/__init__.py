"""The Streamlit page: with app.py, the only code that imports Streamlit."""
