"""The same-page floors of `make bench`: a minimal Flask app that serves each key page's very bytes."""
