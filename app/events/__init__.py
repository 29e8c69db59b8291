"""Events: drafts, publishing and the entitlement checks that guard it."""
