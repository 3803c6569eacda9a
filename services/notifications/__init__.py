"""The notifications service: recipients, templates per language and deliveries by e-mail/SMS."""
