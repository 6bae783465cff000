"""Optional integrations; core modules never import them."""
