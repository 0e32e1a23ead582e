"""OAuth 2.0 as Mastodon does it: registered apps, authorization codes (PKCE S256), scopes."""
