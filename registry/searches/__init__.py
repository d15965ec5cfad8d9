"""Results of personal searches, kept on the server under a random token (Back works)."""
