"""Evidence as entries: education completed, work with young children and families, in-service training
and reflective supervision/consultation (RSC) received. A portfolio is owned by whatever asks for the
evidence (an endorsement's renewal; an application's file), which keeps its id; the entries know only their
portfolio."""
