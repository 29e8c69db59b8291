"""The web client: the events page with the paywall modal, served by the API app."""
