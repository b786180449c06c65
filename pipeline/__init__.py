"""servicelens: measurement pipeline for the service layer of hosted open-weight LLM APIs."""
