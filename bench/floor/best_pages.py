"""The best-query floors: for the pages whose SQL may be the slow part, the same page (same path, same
bytes, the same-page floor's template) from the statements a careful engineer would choose for the page's
data needs alone, not refportal's. Each module has a `register(app)` like the same-page floor's."""

from floor import best_review_queue, best_review_rounds

ALL: list = [best_review_queue, best_review_rounds]
