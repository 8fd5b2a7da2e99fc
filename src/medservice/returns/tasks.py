"""Returns have no periodic work of their own: the customer is told in the inbox as each step
commits (core's notification task e-mails it after commit)."""
