"""Money facts told to the platform: a transactional outbox delivered as signed webhooks."""
