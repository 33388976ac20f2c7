"""ETL package."""
