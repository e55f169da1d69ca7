"""kingsync's database: typed models, repository functions, migrations."""
