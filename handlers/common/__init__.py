"""What every command shares: parsing, the typed reply, the reply cache, budgets, prices and formats, the router."""
