"""The catalog: products, club plans and billing policy. The only source of prices and limits."""
