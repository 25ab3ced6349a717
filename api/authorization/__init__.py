"""Who may do what to which object, beyond what Connexion's security layer
decides from the token alone."""
