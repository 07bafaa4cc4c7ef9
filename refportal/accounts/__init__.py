"""Users, registration, e-mail verification, login and password reset."""
