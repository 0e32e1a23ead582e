"""Members' data rights (GDPR articles 15, 17 and 20): export everything, erase the account."""
