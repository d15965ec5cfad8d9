"""The grid map: both roles' maps, their data endpoints and the officer's cell page."""
