"""How the service meets the network: the HTTP layer under the app."""
