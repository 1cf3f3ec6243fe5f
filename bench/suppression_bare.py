"""The baseline of the suppression benchmarks: bare Flask endpoints, no database.

Served by the same gunicorn command as the portal, so the ratio says what the portal's own
work costs: ``gunicorn -w 2 -k gthread --threads 8 bench.suppression_bare:app``.
"""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/bare/<path:email>")
def lookup(email: str):
    """What a lookup of an unsuppressed address answers, without looking."""
    return jsonify({"email": email, "suppressed": False, "entries": []})


@app.post("/bare/check")
def check():
    """Parse the same body as a bulk check and answer its count."""
    emails = request.get_json()["emails"]
    return jsonify({"checked": len(emails), "suppressed": []})
