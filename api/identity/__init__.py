"""Who a caller is: tokens and their revocations, passwords, accounts, devices."""
