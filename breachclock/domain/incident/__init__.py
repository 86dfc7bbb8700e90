"""The domain core: rules, deadlines and documents. Nothing here imports Temporal."""
