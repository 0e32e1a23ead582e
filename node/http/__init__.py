"""HTTP resources, one module per resource: parse, call a service, render."""
