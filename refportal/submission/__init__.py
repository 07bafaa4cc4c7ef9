"""The application as a whole file: what makes it complete (eligibility, membership, three counted
ratings), submitting it for review, and the applicant's pages that show it (the dashboard and the
application page). Above membership and references, which it reads; below reviews."""
