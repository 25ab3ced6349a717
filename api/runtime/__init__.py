"""What every layer reaches at run time: the settings, the request's context
(its services and session) and the threads that do database work."""
