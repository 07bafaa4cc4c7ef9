"""The framework's floor: one Flask route, served with the same gunicorn settings as refportal."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
