"""python -m matcher"""
from .cli import app

app()
