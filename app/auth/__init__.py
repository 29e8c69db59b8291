"""Authentication: Bearer JWTs, users provisioned on first sight."""
