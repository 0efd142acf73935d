"""Account email: templates in English, French and Spanish, a database outbox, and its delivery worker."""
