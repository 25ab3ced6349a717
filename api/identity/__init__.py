"""Who a caller is: what proves it besides the tokens of api/tokens.py."""
